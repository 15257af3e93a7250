// SPDX-License-Identifier: Apache-2.0
// The Catch2 main, compiled once for every test program.
//
// It adds per-test-case skips (test_support.h skipTestCase()): a skipped case
// ends with a Skipped exception, which Catch reports like an unexpected
// exception ("SKIP: <reason>"); this main does not count those as failures. Exit
// status: 1 when anything really failed, else 77 (meson: skipped) when a case
// was skipped, else 0.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <string>

#include "test_support.h"

namespace {

// Tests talk to peers that may close early; a write to a closed socket must be
// an error return, not a process kill.
const int ignoreSigpipe = [] {
	std::signal(SIGPIPE, SIG_IGN);
	return 0;
}();

int skippedCases = 0;
int realFailures = 0;

bool isSkip(const Catch::AssertionResult &result)
{
	return result.getResultType() == Catch::ResultWas::ThrewException &&
	       result.getMessage().rfind(cvm::test::kSkipPrefix, 0) == 0;
}

class SkipCounter : public Catch::TestEventListenerBase
{
public:
	using TestEventListenerBase::TestEventListenerBase;

	void testCaseStarting(const Catch::TestCaseInfo &info) override
	{
		TestEventListenerBase::testCaseStarting(info);
		skipped_ = false;
	}
	bool assertionEnded(const Catch::AssertionStats &stats) override
	{
		const auto &result = stats.assertionResult;
		if (!result.isOk()) {
			if (isSkip(result))
				skipped_ = true;
			else
				++realFailures;
		}
		return true;
	}
	void testCaseEnded(const Catch::TestCaseStats &stats) override
	{
		TestEventListenerBase::testCaseEnded(stats);
		if (skipped_)
			++skippedCases;
	}

private:
	bool skipped_ = false;
};

} // namespace

CATCH_REGISTER_LISTENER(SkipCounter)

CATCH_TRANSLATE_EXCEPTION(const cvm::test::Skipped &skipped)
{
	return cvm::test::kSkipPrefix + skipped.reason;
}

int main(int argc, char *argv[])
{
	(void)ignoreSigpipe;
	int result = Catch::Session().run(argc, argv);
	// Catch returns the number of failed cases: 77 of them must not read as
	// "skipped", so any failure is 1.
	if (realFailures > 0)
		return 1;
	if (skippedCases > 0) {
		fprintf(stderr, "SKIP: %d test case%s skipped (the failures reported as \"SKIP: ...\" above); "
				"nothing else failed\n",
			skippedCases, skippedCases == 1 ? " was" : "s were");
		return 77;
	}
	return result == 0 ? 0 : 1;
}
