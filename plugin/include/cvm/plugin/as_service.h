// SPDX-License-Identifier: Apache-2.0
//
// The state machines' AttestationService (SEV) and TdxAttestationService over the real AS client
// (attest/client.h): one VM id, one client with its token, CA and timeout.
#pragma once

#include <memory>
#include <string>

#include "cvm/attest/client.h"
#include "cvm/plugin/launch.h"
#include "cvm/plugin/tdx_launch.h"

namespace cvm::plugin {

class ClientAttestationService : public AttestationService, public TdxAttestationService
{
public:
	ClientAttestationService(std::unique_ptr<attest::Client> client, std::string vmId)
		: client_(std::move(client)), vmId_(std::move(vmId))
	{
	}
	Result<attest::LaunchResponse> launch(const attest::LaunchRequest &request) override
	{
		return client_->launch(vmId_, request);
	}
	Result<attest::ValidateResponse> validate(std::string_view launchId,
						  const attest::ValidateRequest &request) override
	{
		return client_->validate(vmId_, launchId, request);
	}
	Status end(std::string_view launchId, std::string_view reason) override
	{
		return client_->end(vmId_, launchId, reason);
	}
	Result<attest::TdxLaunchResponse> tdxLaunch() override { return client_->tdxLaunch(vmId_); }

private:
	std::unique_ptr<attest::Client> client_;
	std::string vmId_;
};

} // namespace cvm::plugin
