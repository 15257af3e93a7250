// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-cli"

#include "launch_common.h"

#include <cstdio>
#include <unistd.h>

#include "cli.h"
#include "cvm/common/file.h"
#include "cvm/common/json.h"

namespace cvm::cli {

SettingsOptions::SettingsOptions()
{
	for (const plugin::SettingInfo *i = plugin::settingInfos(); i->key; ++i) {
		longNames_.emplace_back(i->key);
		descriptions_.emplace_back(i->description);
	}
	values_.assign(longNames_.size(), nullptr);
}

SettingsOptions::~SettingsOptions()
{
	g_free(config_);
	for (char *v : values_)
		g_free(v);
}

void SettingsOptions::addEntries(std::vector<GOptionEntry> &entries)
{
	entries.push_back({ "config", 0, 0, G_OPTION_ARG_FILENAME, &config_,
			    "host configuration (default /etc/cvm-launch/cvm-launch.conf)", "FILE" });
	const plugin::SettingInfo *info = plugin::settingInfos();
	for (size_t i = 0; i < longNames_.size(); ++i)
		entries.push_back({ longNames_[i].c_str(), 0, 0, G_OPTION_ARG_STRING, &values_[i],
				    descriptions_[i].c_str(), info[i].argument });
}

bool SettingsOptions::given(std::string_view key) const
{
	for (size_t i = 0; i < longNames_.size(); ++i)
		if (longNames_[i] == key)
			return values_[i] != nullptr;
	return false;
}

Result<plugin::Settings> SettingsOptions::load() const
{
	auto s = CVM_TRY(plugin::loadSettings(plugin::configLocation(config_ ? config_ : "")));
	for (size_t i = 0; i < longNames_.size(); ++i)
		if (values_[i])
			if (auto st = plugin::applySetting(s, longNames_[i], values_[i]); !st)
				return st.error().withContext("--" + longNames_[i]);
	CVM_CHECK(plugin::validateSettings(s));
	return s;
}

Result<std::unique_ptr<attest::Client>> makeAsClient(const plugin::Settings &s, const std::string &server,
						     const std::string &caFile)
{
	if (server.empty())
		return Error(ErrorCode::InvalidArgument,
			     "no attestation server: set server= in the domain's <cvm:launch>, 'server' in "
			     "cvm-launch.conf or --server");
	attest::ClientOptions o;
	o.baseUrl = server;
	o.caFile = caFile.empty() ? s.caFile : caFile;
	o.timeoutSeconds = s.asTimeout;
	if (!s.hostTokenFile.empty()) {
		auto token = CVM_TRY(readSecretFile(s.hostTokenFile, 4096));
		size_t n = token.size();
		while (n > 0 && (token.data()[n - 1] == '\n' || token.data()[n - 1] == '\r'))
			--n;
		token.truncate(n);
		o.token = std::move(token);
	}
	return attest::Client::create(std::move(o));
}

plugin::StepListener progressPrinter(bool quiet)
{
	if (quiet)
		return {};
	bool tty = isatty(STDERR_FILENO) == 1;
	return [tty](const plugin::StepTiming &t, const Error *e) {
		double ms = static_cast<double>(t.duration.count()) / 1e6;
		std::string name(plugin::launchStepName(t.step));
		if (tty)
			fprintf(stderr, "  %s %-13s %8.1f ms%s%s\n", e ? "\033[31m✗\033[0m" : "\033[32m✓\033[0m",
				name.c_str(), ms, e ? "  " : "", e ? e->message().c_str() : "");
		else
			fprintf(stderr, "cvm-launch: step %s %s (%.1f ms)%s%s\n", name.c_str(), e ? "FAILED" : "ok", ms,
				e ? ": " : "", e ? e->message().c_str() : "");
		fflush(stderr);
	};
}

JsonNodePtr outcomeToJson(const plugin::LaunchOutcome &o, const std::string &domain)
{
	JsonArrayPtr steps(json_array_new());
	for (const auto &t : o.steps) {
		json::ObjectBuilder s;
		s.setString("step", plugin::launchStepName(t.step))
			.setBool("ok", t.ok)
			.setDouble("ms", static_cast<double>(t.duration.count()) / 1e6);
		json_array_add_element(steps.get(), s.build().release());
	}
	json::ObjectBuilder b;
	b.setString("verdict", o.ok ? "ok" : (o.error && o.error->code() == ErrorCode::VerificationFailed ? "refused" : "failed"))
		.setString("domain", domain)
		.setString("launch-id", o.launchId);
	JsonNodePtr arr(json_node_alloc());
	json_node_init_array(arr.get(), steps.get());
	b.setNode("steps", std::move(arr));
	if (!o.ok) {
		b.setString("failed-step", o.failedStep ? plugin::launchStepName(*o.failedStep) : "");
		b.setString("message", o.describe());
		if (o.error)
			b.setString("error-code", o.error->tag().empty() ? errorCodeName(o.error->code()) : o.error->tag());
		b.setBool("destroyed", o.destroyed).setBool("voided", o.voided);
	}
	return b.build();
}

int outcomeExitCode(const plugin::LaunchOutcome &o)
{
	if (o.ok)
		return kExitOk;
	if (o.error) {
		switch (o.error->code()) {
		case ErrorCode::Io:
		case ErrorCode::Timeout:
		case ErrorCode::Disconnected:
		case ErrorCode::Protocol:
		case ErrorCode::InvalidData:
			return kExitUsage;
		default:
			break;
		}
	}
	return kExitFailure;
}

int reportOutcome(const plugin::LaunchOutcome &o, const std::string &domain, bool json)
{
	if (json) {
		auto node = outcomeToJson(o, domain);
		printJson(node.get());
	}
	if (o.ok) {
		if (!json)
			fprintf(stderr, "cvm-launch: %s: attested launch OK (launch %s)\n", domain.c_str(), o.launchId.c_str());
		return kExitOk;
	}
	for (const auto &e : o.rollbackErrors)
		fprintf(stderr, "cvm-launch: rollback: %s\n", e.message().c_str());
	std::string rollback;
	if (o.destroyed)
		rollback += "guest destroyed";
	if (o.voided)
		rollback += std::string(rollback.empty() ? "" : ", ") + "launch voided at the attestation server";
	return fail(domain + ": launch failed at step " + o.describe() + (rollback.empty() ? "" : " (" + rollback + ")"),
		    outcomeExitCode(o));
}

} // namespace cvm::cli
