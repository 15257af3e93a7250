// SPDX-License-Identifier: Apache-2.0
//
// The state machines' AttestationService (SEV) and TdxAttestationService over the real AS client
// (attest/client.h): one VM id, one client with its token, CA and timeout.
//
// With an interrupt check (interrupt.h), launch and validate run on a private
// main context that this object iterates, and a signal cancels the request at
// once instead of after as-timeout. end, which the rollback sends, is never
// cut short (as-timeout bounds it).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cvm/attest/client.h"
#include "cvm/common/gptr.h"
#include "cvm/plugin/interrupt.h"
#include "cvm/plugin/launch.h"
#include "cvm/plugin/tdx_launch.h"

namespace cvm::plugin {

class ClientAttestationService : public AttestationService, public TdxAttestationService
{
public:
	ClientAttestationService(std::unique_ptr<attest::Client> client, std::string vmId);
	~ClientAttestationService() override;

	void setInterruptCheck(InterruptCheck check) { interrupted_ = std::move(check); }

	Result<attest::LaunchResponse> launch(const attest::LaunchRequest &request) override;
	Result<attest::ValidateResponse> validate(std::string_view launchId,
						  const attest::ValidateRequest &request) override;
	Status end(std::string_view launchId, std::string_view reason) override;
	Result<attest::TdxLaunchResponse> tdxLaunch() override;

private:
	template<typename T>
	using Start = std::function<void(GCancellable *, attest::Client::Callback<T>)>;
	template<typename T>
	Result<T> interruptible(const Start<T> &start);

	std::unique_ptr<attest::Client> client_;
	std::string vmId_;
	InterruptCheck interrupted_;
	GMainContextPtr context_;
};

} // namespace cvm::plugin
