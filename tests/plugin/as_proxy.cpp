// SPDX-License-Identifier: Apache-2.0
#include "as_proxy.h"

namespace cvm::test {

AsProxy::AsProxy(std::string target, Validate mode) : target_(std::move(target)), mode_(mode)
{
	server_ = std::make_unique<StubServer>(
		[this](SoupServer *, SoupServerMessage *msg, const std::string &path) { handle(msg, path); });
}

AsProxy::~AsProxy()
{
	server_->call([this] {
		if (held_)
			g_object_unref(held_);
		held_ = nullptr;
		if (session_) {
			soup_session_abort(session_);
			g_object_unref(session_);
		}
		session_ = nullptr;
	});
	server_.reset();
}

std::vector<std::string> AsProxy::requests() const
{
	std::lock_guard<std::mutex> lock(mutex_);
	return requests_;
}

void AsProxy::handle(SoupServerMessage *msg, const std::string &path)
{
	{
		std::lock_guard<std::mutex> lock(mutex_);
		requests_.push_back(std::string(soup_server_message_get_method(msg)) + " " + path);
	}
	bool validate = path.size() > 9 && path.compare(path.size() - 9, 9, "/validate") == 0;
	if (!validate || mode_ == Validate::Forward)
		return forward(msg, path);
	switch (mode_) {
	case Validate::Hold:
		held_ = SOUP_SERVER_MESSAGE(g_object_ref(msg));
		heldPath_ = path;
		soup_server_message_pause(msg);
		break;
	case Validate::Stall:
		soup_server_message_pause(msg);
		break;
	default:
		respondJson(msg, 200, "{\"secret-header\": 7, \"secret-payload\": \"%%% not base64\"");
		break;
	}
	validateSeen_ = true;
}

void AsProxy::forward(SoupServerMessage *msg, const std::string &path)
{
	if (!session_)
		session_ = soup_session_new();
	std::string url = target_ + path;
	SoupMessage *out = soup_message_new(soup_server_message_get_method(msg), url.c_str());
	SoupMessageHeaders *in = soup_server_message_get_request_headers(msg);
	for (const char *name : { "Authorization", "Accept" })
		if (const char *v = soup_message_headers_get_one(in, name))
			soup_message_headers_replace(soup_message_get_request_headers(out), name, v);
	std::string body = requestBody(msg);
	if (!body.empty()) {
		const char *type = soup_message_headers_get_content_type(in, nullptr);
		GBytes *b = g_bytes_new(body.data(), body.size());
		soup_message_set_request_body_from_bytes(out, type ? type : "application/json", b);
		g_bytes_unref(b);
	}
	GError *error = nullptr;
	GBytes *reply = soup_session_send_and_read(session_, out, nullptr, &error);
	if (!reply) {
		soup_server_message_set_status(msg, 502, error ? error->message : nullptr);
		g_clear_error(&error);
	} else {
		gsize size = 0;
		const char *data = static_cast<const char *>(g_bytes_get_data(reply, &size));
		soup_server_message_set_status(msg, soup_message_get_status(out), nullptr);
		const char *type = soup_message_headers_get_content_type(soup_message_get_response_headers(out), nullptr);
		if (size)
			soup_server_message_set_response(msg, type ? type : "application/json", SOUP_MEMORY_COPY, data, size);
		g_bytes_unref(reply);
	}
	g_object_unref(out);
}

void AsProxy::release()
{
	server_->call([this] {
		mode_ = Validate::Forward;
		if (!held_)
			return;
		forward(held_, heldPath_);
		soup_server_message_unpause(held_);
		g_object_unref(held_);
		held_ = nullptr;
	});
}

} // namespace cvm::test
