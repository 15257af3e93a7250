// SPDX-License-Identifier: Apache-2.0
//
// Launch records as the hook reads them from the state dir, and the hook's
// verdict on them: parse, decide for a guarded domain, write back and reparse.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cvm/plugin/hook_decision.h"
#include "cvm/plugin/launch_records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string_view text(reinterpret_cast<const char *>(data), size);
	auto r = cvm::plugin::parseRecord(text);
	if (!r.ok())
		return 0;
	cvm::plugin::PrepareInput in;
	in.name = r->domain;
	in.metadata = std::optional<cvm::plugin::LaunchMetadata>(cvm::plugin::LaunchMetadata{});
	in.session = r->session;
	in.record = std::optional<cvm::plugin::LaunchRecord>(*r);
	in.now = r->created;
	auto d = cvm::plugin::decidePrepare(in);
	if (d.allow != d.consumeRecord)
		abort();
	auto again = cvm::plugin::parseRecord(cvm::plugin::recordToJson(*r));
	if (!again.ok() || again->launchId != r->launchId || again->session != r->session)
		abort();
	return 0;
}
