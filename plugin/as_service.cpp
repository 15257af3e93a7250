// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-plugin"

#include "cvm/plugin/as_service.h"

#include "cvm/common/scope_exit.h"

namespace cvm::plugin {

ClientAttestationService::ClientAttestationService(std::unique_ptr<attest::Client> client, std::string vmId)
	: client_(std::move(client)), vmId_(std::move(vmId)), context_(g_main_context_new())
{
}

// The client (and any request it still has) goes before the context.
ClientAttestationService::~ClientAttestationService()
{
	client_.reset();
}

template<typename T>
Result<T> ClientAttestationService::interruptible(const Start<T> &start)
{
	GMainContext *context = context_.get();
	g_main_context_push_thread_default(context);
	ScopeExit pop([context] { g_main_context_pop_thread_default(context); });
	GObjectPtr<GCancellable> cancel(g_cancellable_new());
	// On the heap: gcc 12 misreads an optional<Result<>> here (-Wfree-nonheap-object).
	std::unique_ptr<Result<T>> out;
	start(cancel.get(), [&out](Result<T> r) { out = std::make_unique<Result<T>>(std::move(r)); });
	// A tick, so that a signal is noticed while the server keeps silent.
	GSourcePtr tick(g_timeout_source_new(100));
	g_source_set_callback(tick.get(), [](gpointer) { return gboolean(G_SOURCE_CONTINUE); }, nullptr, nullptr);
	g_source_attach(tick.get(), context);
	std::optional<Error> why;
	while (!out) {
		g_main_context_iteration(context, TRUE);
		if (!why && (why = interrupted_()))
			g_cancellable_cancel(cancel.get());
	}
	if (why && !out->ok())
		return *why;
	return std::move(*out);
}

Result<attest::LaunchResponse> ClientAttestationService::launch(const attest::LaunchRequest &request)
{
	if (!interrupted_)
		return client_->launch(vmId_, request);
	return interruptible<attest::LaunchResponse>([&](GCancellable *c, attest::Client::Callback<attest::LaunchResponse> done) {
		client_->launchAsync(vmId_, request, c, std::move(done));
	});
}

Result<attest::ValidateResponse> ClientAttestationService::validate(std::string_view launchId,
								    const attest::ValidateRequest &request)
{
	if (!interrupted_)
		return client_->validate(vmId_, launchId, request);
	return interruptible<attest::ValidateResponse>(
		[&](GCancellable *c, attest::Client::Callback<attest::ValidateResponse> done) {
			client_->validateAsync(vmId_, launchId, request, c, std::move(done));
		});
}

// The TD's launch is one short request before any guest exists; as-timeout bounds it.
Result<attest::TdxLaunchResponse> ClientAttestationService::tdxLaunch()
{
	return client_->tdxLaunch(vmId_);
}

Status ClientAttestationService::end(std::string_view launchId, std::string_view reason)
{
	return client_->end(vmId_, launchId, reason);
}

} // namespace cvm::plugin
