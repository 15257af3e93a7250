// SPDX-License-Identifier: Apache-2.0
//
// TEMPORARY: a placeholder until the simulator core (sim/) is merged. It
// answers query-sev-capabilities with fixed, meaningless values so that
// libvirt's probe can be exercised; SEV guests are refused.
#define G_LOG_DOMAIN "cvm-shim"

#include "sev_backend.h"

#include "cvm/common/json.h"

namespace cvm::shim {

namespace {

class TemporaryFilter : public CommandFilter
{
public:
	Disposition filter(const qmp::Command &c) override
	{
		if (c.name != "query-sev-capabilities")
			return Disposition::forward();
		return Disposition::reply(json::ObjectBuilder()
						  .setString("pdh", "VEVNUE9SQVJZ")
						  .setString("cert-chain", "VEVNUE9SQVJZ")
						  .setString("cpu0-id", "VEVNUE9SQVJZ")
						  .setInt("cbitpos", 51)
						  .setInt("reduced-phys-bits", 1)
						  .build());
	}
};

class TemporaryBackend : public SevBackend
{
public:
	CommandFilter &filter() override { return filter_; }

private:
	TemporaryFilter filter_;
};

} // namespace

Result<std::unique_ptr<SevBackend>> makeSevBackend(const ShimConfig &, const LaunchPlan &plan)
{
	if (plan.sev)
		return Error(ErrorCode::Unsupported, "SEV guests need the simulator core (not built in)");
	return std::unique_ptr<SevBackend>(new TemporaryBackend());
}

} // namespace cvm::shim
