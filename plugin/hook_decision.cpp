// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/hook_decision.h"

namespace cvm::plugin {

namespace {

PrepareDecision refuse(const PrepareInput &in, const std::string &why, bool handOver)
{
	PrepareDecision d;
	d.handOver = handOver;
	d.message = "cvm-launch: domain '" + in.name + "' is guarded by cvm-launch (attested SEV launch): " + why +
		    ". Start it with 'cvm-launch start " + in.name + "'";
	if (handOver)
		d.message += " (plain-start=\"attest\": cvm-launch start " + in.name + " now runs in the background)";
	d.message += ".";
	return d;
}

} // namespace

PrepareDecision decidePrepare(const PrepareInput &in)
{
	if (!in.metadata.ok())
		return refuse(in, "its <cvm:launch> metadata is invalid (" + in.metadata.error().message() + ")", false);
	if (!in.metadata->has_value())
		return PrepareDecision{ true, {}, false, false };
	bool attest = (*in.metadata)->plainStart == PlainStart::Attest;
	if (!in.record.ok())
		return refuse(in, "its launch record is unreadable (" + in.record.error().message() + ")", false);
	const auto &record = *in.record;
	if (!record)
		return refuse(in, "no attested launch was prepared for this start", attest);
	if (record->state != RecordState::Pending)
		return refuse(in, "its launch session " + record->launchId + " was already used (state " +
					  std::string(recordStateName(record->state)) + ")", false);
	if (in.now > record->expires)
		return refuse(in, "its pending launch " + record->launchId + " has expired", false);
	if (!in.session || *in.session != record->session)
		return refuse(in, "the <launchSecurity> session is not the one cvm-launch obtained for launch " +
					  record->launchId, false);
	return PrepareDecision{ true, {}, false, true };
}

} // namespace cvm::plugin
