// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-owner"

#include "common.h"

#include <cstdio>

#include "commands.h"
#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/common/json.h"
#include "cvm/common/log.h"

namespace cvm::owner {

ConnectionOptions::~ConnectionOptions()
{
	for (gchar *p : { server, tokenFile, caFile, clientCert, clientKey, vm })
		g_free(p);
}

std::vector<GOptionEntry> connectionEntries(ConnectionOptions &o)
{
	return {
		{ "server", 's', 0, G_OPTION_ARG_STRING, &o.server, "Attestation server URL (https://…)", "URL" },
		{ "token-file", 't', 0, G_OPTION_ARG_FILENAME, &o.tokenFile, "File holding the owner's bearer token",
		  "FILE" },
		{ "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &o.caFile, "CA bundle to trust for the server", "FILE" },
		{ "client-cert", 0, 0, G_OPTION_ARG_FILENAME, &o.clientCert,
		  "Authenticate with this TLS client certificate (PEM)", "FILE" },
		{ "client-key", 0, 0, G_OPTION_ARG_FILENAME, &o.clientKey, "Key of --client-cert", "FILE" },
		{ "timeout", 0, 0, G_OPTION_ARG_INT, &o.timeout, "Seconds to wait for the server (default 30)", "S" },
		{ "insecure", 0, 0, G_OPTION_ARG_NONE, &o.insecure,
		  "Allow plain HTTP to a server that is not on loopback", nullptr },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &o.json, "Print one JSON object on stdout", nullptr },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &o.verbose, "Log more", nullptr },
		{ "vm", 0, 0, G_OPTION_ARG_STRING, &o.vm, "The VM's id at the server (e.g. its UUID)", "ID" },
	};
}

bool parseCommandLine(const char *command, const char *summary, std::vector<GOptionEntry> entries, int &argc,
		      char **&argv)
{
	entries.push_back(GOptionEntry{});
	GOptionContextPtr ctx(g_option_context_new(nullptr));
	g_option_context_set_summary(ctx.get(), summary);
	g_option_context_add_main_entries(ctx.get(), entries.data(), nullptr);
	g_set_prgname(command);
	GError *raw = nullptr;
	if (!g_option_context_parse(ctx.get(), &argc, &argv, &raw)) {
		GErrorPtr err(raw);
		usageError(command, err->message);
		return false;
	}
	if (argc > 1) {
		usageError(command, std::string("unexpected argument '") + argv[1] + "'");
		return false;
	}
	return true;
}

int usageError(const std::string &command, const std::string &message)
{
	fprintf(stderr, "%s: %s\nTry '%s --help' for more information.\n", command.c_str(), message.c_str(),
		command.c_str());
	return kExitUsage;
}

int report(const Error &error)
{
	fprintf(stderr, "cvm-owner: %s\n", error.message().c_str());
	switch (error.code()) {
	case ErrorCode::InvalidArgument:
	case ErrorCode::Io:
	case ErrorCode::Timeout:
	case ErrorCode::Disconnected:
	case ErrorCode::Protocol:
	case ErrorCode::Cancelled:
		return kExitUsage;
	default:
		return kExitFailure;
	}
}

void printJson(JsonNode *node)
{
	std::string text = json::serialize(node, true);
	fprintf(stdout, "%s\n", text.c_str());
	fflush(stdout);
}

namespace {

bool isLoopback(const std::string &url)
{
	GUri *uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
	if (!uri)
		return false;
	std::string host = toString(g_uri_get_host(uri));
	g_uri_unref(uri);
	if (host == "localhost")
		return true;
	GInetAddress *addr = g_inet_address_new_from_string(host.c_str());
	bool loop = addr && g_inet_address_get_is_loopback(addr);
	if (addr)
		g_object_unref(addr);
	return loop;
}

} // namespace

Result<std::unique_ptr<attest::Client>> connect(const ConnectionOptions &o)
{
	LogOptions log;
	log.program = "cvm-owner";
	log.level = o.verbose ? LogLevel::Verbose : LogLevel::Normal;
	installLogWriter(log);

	std::string server = o.server ? o.server : toString(g_getenv("CVM_OWNER_SERVER"));
	if (server.empty())
		return Error(ErrorCode::InvalidArgument, "no server: give --server URL (or set CVM_OWNER_SERVER)");
	if (g_str_has_prefix(server.c_str(), "http://") && !isLoopback(server) && !o.insecure)
		return Error(ErrorCode::InvalidArgument,
			     "refusing plain HTTP to " + server +
				     ": registrations carry secrets; use https:// (or --insecure for a test setup)");
	attest::ClientOptions options;
	options.baseUrl = server;
	options.timeoutSeconds = o.timeout > 0 ? static_cast<unsigned>(o.timeout) : 30;
	if (o.caFile)
		options.caFile = o.caFile;
	if (o.clientCert)
		options.clientCertFile = o.clientCert;
	if (o.clientKey)
		options.clientKeyFile = o.clientKey;
	std::string tokenFile = o.tokenFile ? o.tokenFile : toString(g_getenv("CVM_OWNER_TOKEN_FILE"));
	if (!tokenFile.empty()) {
		SecureBuffer token = CVM_TRY(readSecretFile(tokenFile, 4096));
		size_t begin = 0, end = token.size();
		while (begin < end && g_ascii_isspace(token.data()[begin]))
			++begin;
		while (end > begin && g_ascii_isspace(token.data()[end - 1]))
			--end;
		if (begin == end)
			return Error(ErrorCode::InvalidArgument, "token file " + tokenFile + " is empty");
		options.token = SecureBuffer(token.view().subspan(begin, end - begin));
	} else if (!o.clientCert) {
		return Error(ErrorCode::InvalidArgument,
			     "no credentials: give --token-file F or --client-cert F --client-key F");
	}
	auto client = attest::Client::create(std::move(options));
	if (!client)
		return Error(ErrorCode::InvalidArgument, client.error().message());
	return client;
}

} // namespace cvm::owner
