// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-attestd"

#include "config.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <glib.h>

#include "cvm-config.h"
#include "cvm/common/gptr.h"

namespace cvm::server {

namespace {

constexpr const char *kGroup = "cvm-attestd";

Result<unsigned> parseUnsigned(const std::string &name, const std::string &value, unsigned min, unsigned max)
{
	unsigned v = 0;
	auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
	if (ec != std::errc() || p != value.data() + value.size() || v < min || v > max)
		return Error(ErrorCode::InvalidArgument, "'" + name + "' must be a number from " + std::to_string(min) +
								 " to " + std::to_string(max) + ", not '" + value + "'");
	return v;
}

Result<bool> parseBool(const std::string &name, const std::string &value)
{
	if (value == "true" || value == "yes" || value == "1")
		return true;
	if (value == "false" || value == "no" || value == "0")
		return false;
	return Error(ErrorCode::InvalidArgument, "'" + name + "' must be true or false, not '" + value + "'");
}

// One setting: its key/option name, and how a value applies to the config.
// Flags (argDescription == nullptr) take "true" from the command line.
struct Setting {
	const char *name;
	const char *argDescription;
	const char *help;
	Status (*apply)(ServerConfig &config, const std::string &value);
};

#define STRING_SETTING(key, member, arg, help)                                                            \
	Setting { key, arg, help, [](ServerConfig &c, const std::string &v) -> Status { c.member = v; return {}; } }
#define UINT_SETTING(key, member, min, max, help)                                                        \
	Setting { key, "N", help, [](ServerConfig &c, const std::string &v) -> Status {                  \
		c.member = CVM_TRY(parseUnsigned(key, v, min, max));                                      \
		return {};                                                                                \
	} }

const Setting kSettings[] = {
	STRING_SETTING("listen", listen, "ADDR:PORT", "Serve HTTPS here (needs tls-cert and tls-key)"),
	STRING_SETTING("tls-cert", tlsCert, "FILE", "TLS certificate (PEM) for HTTPS"),
	STRING_SETTING("tls-key", tlsKey, "FILE", "TLS private key (PEM) for HTTPS"),
	STRING_SETTING("insecure-listen", insecureListen, "ADDR:PORT",
		       "Serve plain HTTP here (loopback tests and demos only)"),
	Setting{ "allow-insecure-remote", nullptr,
		 "Let insecure-listen use a non-loopback address (tokens and secrets then cross the network in clear)",
		 [](ServerConfig &c, const std::string &v) -> Status {
			 c.allowInsecureRemote = CVM_TRY(parseBool("allow-insecure-remote", v));
			 return {};
		 } },
	STRING_SETTING("ready-file", readyFile, "FILE", "Write the listening URLs here once serving"),
	STRING_SETTING("owner-token-file", ownerTokenFile, "FILE", "Bearer token of the guest owner"),
	STRING_SETTING("owner-client-ca", ownerClientCa, "FILE",
		       "Accept owners by TLS client certificates issued by this CA (PEM)"),
	STRING_SETTING("host-token-file", hostTokenFile, "FILE", "Bearer token hosts must present (optional)"),
	STRING_SETTING("db", db, "PATH", "SQLite database"),
	STRING_SETTING("key-file", keyFile, "PATH", "Storage key (created 0600 on first run)"),
	Setting{ "db-sync", "normal|full",
		 "Commit durability: normal survives a crash of the daemon, full also a power loss (default normal)",
		 [](ServerConfig &c, const std::string &v) -> Status {
			 if (v != "full" && v != "normal")
				 return Error(ErrorCode::InvalidArgument, "'db-sync' must be full or normal");
			 c.dbSyncFull = v == "full";
			 return {};
		 } },
	STRING_SETTING("amd-roots", amdRoots, "DIR", "Pinned AMD roots (DIR/<generation>/{ark,ask}.cert)"),
	STRING_SETTING("test-roots", testRoots, "DIR", "Also trust these roots as given (e.g. the simulator's)"),
	STRING_SETTING("tdx-root-ca", tdxRootCa, "FILE",
		       "Verify intel-tdx quotes up to this root (PEM/DER) instead of the pinned Intel SGX Root CA"),
	STRING_SETTING("cek-cache", cekCache, "DIR", "Cache of AMD-signed CEKs by chip id"),
	STRING_SETTING("kds-url", kdsUrl, "URL", "AMD Key Distribution Service base URL"),
	UINT_SETTING("kds-timeout", kdsTimeout, 1, 300, "Seconds to wait for the KDS (default 10)"),
	Setting{ "no-kds", nullptr, "Never fetch CEKs from the KDS (cache only)",
		 [](ServerConfig &c, const std::string &v) -> Status {
			 c.kds = !CVM_TRY(parseBool("no-kds", v));
			 return {};
		 } },
	UINT_SETTING("launch-expiry", launchExpiry, 1, 86400, "Seconds a launch waits for validation (default 600)"),
	UINT_SETTING("max-body", maxBody, 1024, 16u << 20, "Largest request body in bytes (default 262144)"),
	UINT_SETTING("workers", workers, 0, 256, "Worker threads for crypto and storage (0: one per CPU)"),
	UINT_SETTING("max-queue", maxQueue, 1, 1000000, "Requests waiting for a worker before answering 503"),
	UINT_SETTING("expiry-sweep", expirySweep, 1, 3600, "Seconds between sweeps of expired launches"),
	UINT_SETTING("chain-cache", chainCache, 0, 100000, "Verified platform chains to remember (0: off)"),
	UINT_SETTING("audit-limit", auditLimit, 1, 1000000, "Newest audit entries returned per VM"),
	UINT_SETTING("refusal-audits", refusalAudits, 0, 1000000,
		     "Refused launch attempts recorded per VM and minute (0: all; default 60)"),
};

const Setting *findSetting(std::string_view name)
{
	for (const auto &s : kSettings)
		if (name == s.name)
			return &s;
	return nullptr;
}

// Command-line values, collected in order and applied after the config file.
struct CommandLine {
	std::vector<std::pair<std::string, std::string>> values;
	std::string configFile;
	bool verbose = false;
	bool debug = false;
	bool version = false;
};

gboolean collectOption(const gchar *optionName, const gchar *value, gpointer data, GError **)
{
	auto *cl = static_cast<CommandLine *>(data);
	std::string name = optionName;
	while (!name.empty() && name.front() == '-')
		name.erase(name.begin());
	cl->values.emplace_back(name, value ? value : "true");
	return TRUE;
}

} // namespace

Result<std::pair<std::string, unsigned>> parseListenAddress(const std::string &text)
{
	auto colon = text.rfind(':');
	if (colon == std::string::npos || colon == 0)
		return Error(ErrorCode::InvalidArgument, "listen address '" + text + "' must be ADDR:PORT");
	std::string host = text.substr(0, colon);
	if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
		host = host.substr(1, host.size() - 2);
	unsigned port = CVM_TRY(parseUnsigned("port", text.substr(colon + 1), 0, 65535));
	GInetAddress *addr = g_inet_address_new_from_string(host.c_str());
	if (!addr)
		return Error(ErrorCode::InvalidArgument,
			     "listen address '" + text + "' must be a numeric IP address and a port");
	g_object_unref(addr);
	return std::make_pair(host, port);
}

bool isLoopbackAddress(const std::string &host)
{
	GInetAddress *addr = g_inet_address_new_from_string(host.c_str());
	if (!addr)
		return false;
	bool loopback = g_inet_address_get_is_loopback(addr);
	g_object_unref(addr);
	return loopback;
}

Status applyConfigFile(const std::string &path, ServerConfig &config)
{
	GKeyFilePtr kf(g_key_file_new());
	GError *raw = nullptr;
	if (!g_key_file_load_from_file(kf.get(), path.c_str(), G_KEY_FILE_NONE, &raw)) {
		GErrorPtr err(raw);
		return Error::fromGError(err.get(), "config file " + path);
	}
	gsize ngroups = 0;
	GStrvPtr groups(g_key_file_get_groups(kf.get(), &ngroups));
	for (gsize i = 0; i < ngroups; ++i)
		if (strcmp(groups.get()[i], kGroup) != 0)
			return Error(ErrorCode::InvalidArgument, "config file " + path + ": unknown group [" +
									 groups.get()[i] + "] (expected [" + kGroup + "])");
	if (!g_key_file_has_group(kf.get(), kGroup))
		return {};
	gsize nkeys = 0;
	GStrvPtr keys(g_key_file_get_keys(kf.get(), kGroup, &nkeys, nullptr));
	for (gsize i = 0; i < nkeys; ++i) {
		const char *key = keys.get()[i];
		const Setting *s = findSetting(key);
		if (!s)
			return Error(ErrorCode::InvalidArgument,
				     "config file " + path + ": unknown key '" + key + "'");
		GCharPtr value(g_key_file_get_string(kf.get(), kGroup, key, &raw));
		if (!value) {
			GErrorPtr err(raw);
			return Error::fromGError(err.get(), "config file " + path);
		}
		if (auto st = s->apply(config, value.get()); !st)
			return st.error().withContext("config file " + path);
	}
	return {};
}

Status validateConfig(const ServerConfig &c)
{
	if (c.listen.empty() && c.insecureListen.empty())
		return Error(ErrorCode::InvalidArgument,
			     "nothing to listen on: set listen (HTTPS) or insecure-listen (plain HTTP, for tests)");
	if (!c.listen.empty()) {
		CVM_TRY(parseListenAddress(c.listen));
		if (c.tlsCert.empty() || c.tlsKey.empty())
			return Error(ErrorCode::InvalidArgument, "HTTPS on " + c.listen + " needs tls-cert and tls-key");
	}
	if (!c.insecureListen.empty()) {
		auto address = CVM_TRY(parseListenAddress(c.insecureListen));
		if (!isLoopbackAddress(address.first) && !c.allowInsecureRemote)
			return Error(ErrorCode::InvalidArgument,
				     "insecure-listen " + c.insecureListen +
					     " is not a loopback address: plain HTTP would carry owner tokens, host tokens "
					     "and secret packets in clear over the network. Serve HTTPS with listen, or set "
					     "allow-insecure-remote if you really mean it");
	}
	if (c.ownerTokenFile.empty() && c.ownerClientCa.empty())
		return Error(ErrorCode::InvalidArgument,
			     "no way to authenticate the owner: set owner-token-file or owner-client-ca");
	if (!c.ownerClientCa.empty() && c.listen.empty())
		return Error(ErrorCode::InvalidArgument, "owner-client-ca needs an HTTPS listener (listen)");
	if (c.db.empty() || c.keyFile.empty())
		return Error(ErrorCode::InvalidArgument, "db and key-file must be set");
	if (c.amdRoots.empty() && c.testRoots.empty())
		return Error(ErrorCode::InvalidArgument, "no trust roots: set amd-roots and/or test-roots");
	return {};
}

Result<ServerConfig> parseServerCommandLine(int argc, char **argv)
{
	CommandLine cl;
	std::vector<GOptionEntry> entries;
	for (const auto &s : kSettings)
		entries.push_back(GOptionEntry{ s.name, 0, s.argDescription ? 0 : G_OPTION_FLAG_NO_ARG,
						G_OPTION_ARG_CALLBACK, reinterpret_cast<gpointer>(collectOption),
						s.help, s.argDescription });
	gchar *configFile = nullptr;
	gboolean verbose = FALSE, debug = FALSE, version = FALSE;
	entries.push_back({ "config", 'c', 0, G_OPTION_ARG_FILENAME, &configFile,
			    "Read settings from this key file (group [cvm-attestd])", "FILE" });
	entries.push_back({ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log more", nullptr });
	entries.push_back({ "debug", 0, 0, G_OPTION_ARG_NONE, &debug, "Log everything (never secrets)", nullptr });
	entries.push_back({ "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", nullptr });
	entries.push_back(GOptionEntry{});

	GOptionContextPtr ctx(g_option_context_new("- the guest owner's attestation server"));
	GOptionGroup *group = g_option_group_new("main", "", "", &cl, nullptr);
	g_option_group_add_entries(group, entries.data());
	g_option_context_set_main_group(ctx.get(), group);
	GError *raw = nullptr;
	bool ok = g_option_context_parse(ctx.get(), &argc, &argv, &raw);
	GCharPtr configOwned(configFile);
	if (!ok) {
		GErrorPtr err(raw);
		return Error(ErrorCode::InvalidArgument, err->message);
	}
	if (version) {
		printf("cvm-attestd %s\n", CVM_VERSION);
		exit(0);
	}
	if (argc > 1)
		return Error(ErrorCode::InvalidArgument, std::string("unexpected argument '") + argv[1] + "'");

	ServerConfig config;
	config.db = std::string(CVM_LOCALSTATEDIR) + "/lib/cvm-attestd/attestd.db";
	config.keyFile = std::string(CVM_LOCALSTATEDIR) + "/lib/cvm-attestd/storage.key";
	config.amdRoots = std::string(CVM_SYSCONFDIR) + "/cvm-launch/amd";
	config.cekCache = std::string(CVM_LOCALSTATEDIR) + "/cache/cvm-attestd/cek";
	if (configFile)
		CVM_CHECK(applyConfigFile(configFile, config));
	for (const auto &[name, value] : cl.values) {
		const Setting *s = findSetting(name);
		if (!s)
			return Error(ErrorCode::Internal, "option --" + name + " has no setting");
		if (auto st = s->apply(config, value); !st)
			return st.error().withContext("--" + name);
	}
	config.verbose = verbose;
	config.debug = debug;
	CVM_CHECK(validateConfig(config));
	return config;
}

} // namespace cvm::server
