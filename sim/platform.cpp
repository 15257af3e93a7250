// SPDX-License-Identifier: Apache-2.0
#define G_LOG_DOMAIN "cvm-sim"

#include "cvm/sim/platform.h"

#include <sys/stat.h>

#include <glib.h>
#include <openssl/rand.h>

#include "cvm/common/file.h"
#include "cvm/common/gptr.h"
#include "cvm/sev/session.h"
#include "platform_certs.h"

namespace cvm::sim {

namespace {

constexpr const char *kGroup = "platform";
constexpr const char *kKeyNames[] = { "ark", "ask", "cek", "oca", "pek", "pdh" };
constexpr size_t kMaxCertFile = 4096;

std::string path(const std::string &dir, const std::string &rel)
{
	return dir + "/" + rel;
}

Status writeCert(const std::string &file, ByteView cert)
{
	return writeFileAtomic(file, cert, 0644);
}

Result<Bytes> readCert(const std::string &dir, const std::string &rel)
{
	auto data = readFile(path(dir, rel), kMaxCertFile);
	if (!data)
		return data.error().withContext("simulator state directory " + dir);
	return data;
}

std::string iniTextImpl(const PlatformIdentity &id)
{
	GKeyFilePtr kf(g_key_file_new());
	g_key_file_set_comment(kf.get(), nullptr, nullptr,
			       " cvm-sev-sim platform state (created by cvm-sev-sim init)", nullptr);
	g_key_file_set_integer(kf.get(), kGroup, "api-major", id.version.apiMajor);
	g_key_file_set_integer(kf.get(), kGroup, "api-minor", id.version.apiMinor);
	g_key_file_set_integer(kf.get(), kGroup, "build-id", id.version.buildId);
	g_key_file_set_string(kf.get(), kGroup, "chip-id", toHex(id.chipId).c_str());
	g_key_file_set_integer(kf.get(), kGroup, "cbitpos", static_cast<int>(id.cbitpos));
	g_key_file_set_boolean(kf.get(), kGroup, "unsigned-cek", id.unsignedCek);
	g_key_file_set_string(kf.get(), kGroup, "root-generation", kTestRootGeneration);
	GCharPtr text(g_key_file_to_data(kf.get(), nullptr, nullptr));
	return text.get();
}

Result<int64_t> iniInt(GKeyFile *kf, const char *key, int64_t min, int64_t max)
{
	GError *raw = nullptr;
	gint64 v = g_key_file_get_int64(kf, kGroup, key, &raw);
	GErrorPtr err(raw);
	if (err || v < min || v > max)
		return Error(ErrorCode::InvalidData, std::string("platform.ini: '") + key + "' must be an integer in [" +
							     std::to_string(min) + ", " + std::to_string(max) + "]");
	return static_cast<int64_t>(v);
}

Result<PlatformIdentity> parseIniImpl(std::string_view text)
{
	GKeyFilePtr kf(g_key_file_new());
	GError *raw = nullptr;
	if (!g_key_file_load_from_data(kf.get(), text.data(), text.size(), G_KEY_FILE_NONE, &raw)) {
		GErrorPtr err(raw);
		return Error(ErrorCode::InvalidData, std::string("platform.ini: ") + err->message);
	}
	PlatformIdentity id;
	id.version.apiMajor = static_cast<uint8_t>(CVM_TRY(iniInt(kf.get(), "api-major", 0, 255)));
	id.version.apiMinor = static_cast<uint8_t>(CVM_TRY(iniInt(kf.get(), "api-minor", 0, 255)));
	id.version.buildId = static_cast<uint8_t>(CVM_TRY(iniInt(kf.get(), "build-id", 0, 255)));
	id.cbitpos = static_cast<uint32_t>(CVM_TRY(iniInt(kf.get(), "cbitpos", 32, 63)));
	GCharPtr chip(g_key_file_get_string(kf.get(), kGroup, "chip-id", nullptr));
	auto chipBytes = fromHex(chip ? chip.get() : "");
	if (!chipBytes || chipBytes->size() != kChipIdSize)
		return Error(ErrorCode::InvalidData, "platform.ini: 'chip-id' must be 64 bytes in hex");
	std::copy(chipBytes->begin(), chipBytes->end(), id.chipId.begin());
	id.unsignedCek = g_key_file_get_boolean(kf.get(), kGroup, "unsigned-cek", nullptr);
	return id;
}

} // namespace

Result<PlatformIdentity> parsePlatformIni(std::string_view text)
{
	return parseIniImpl(text);
}

std::string formatPlatformIni(const PlatformIdentity &identity)
{
	return iniTextImpl(identity);
}

struct PlatformBuilder {
	static Status writeState(const Platform &p, const internal::HierarchyKeys &keys,
				 const internal::HierarchyCerts &certs)
	{
		const std::string &dir = p.stateDir_;
		CVM_CHECK(makeDirectories(dir, 0700));
		CVM_CHECK(makeDirectories(path(dir, "keys"), 0700));
		CVM_CHECK(makeDirectories(path(dir, "certs"), 0755));
		const EvpPkeyPtr *all[] = { &keys.ark, &keys.ask, &keys.cek, &keys.oca, &keys.pek, &keys.pdh };
		for (size_t i = 0; i < 6; ++i) {
			SecureBuffer pem = CVM_TRY(internal::privateKeyPem(all[i]->get()));
			CVM_CHECK(writeSecretFile(path(dir, std::string("keys/") + kKeyNames[i] + ".pem"), pem));
		}
		CVM_CHECK(writeCert(path(dir, "certs/ark.cert"), certs.ark));
		CVM_CHECK(writeCert(path(dir, "certs/ask.cert"), certs.ask));
		CVM_CHECK(writeCert(path(dir, "certs/cek.cert"), p.cekCert_));
		CVM_CHECK(writeCert(path(dir, "certs/oca.cert"), certs.oca));
		CVM_CHECK(writeCert(path(dir, "certs/pek.cert"), certs.pek));
		CVM_CHECK(writeCert(path(dir, "certs/pdh.cert"), certs.pdh));
		std::string roots = path(dir, std::string("roots/") + kTestRootGeneration);
		CVM_CHECK(makeDirectories(roots, 0755));
		CVM_CHECK(writeCert(roots + "/ark.cert", certs.ark));
		CVM_CHECK(writeCert(roots + "/ask.cert", certs.ask));
		if (p.identity_.unsignedCek) {
			CVM_CHECK(makeDirectories(path(dir, "kds"), 0755));
			CVM_CHECK(writeCert(path(dir, "kds/" + toHex(p.identity_.chipId) + ".cert"), certs.cekSigned));
		}
		return writeFileAtomic(path(dir, "platform.ini"), asBytes(formatPlatformIni(p.identity_)), 0644);
	}

	static Result<EvpPkeyPtr> loadKey(const std::string &dir, const char *name)
	{
		std::string file = path(dir, std::string("keys/") + name + ".pem");
		struct stat st {};
		if (stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
			return Error(ErrorCode::PermissionDenied,
				     file + " is readable by others (mode " + std::to_string(st.st_mode & 0777) +
					     "); private keys must be 0600");
		SecureBuffer pem = CVM_TRY(readSecretFile(file, 64 * 1024));
		return internal::privateKeyFromPem(pem, name);
	}
};

Result<std::unique_ptr<Platform>> Platform::init(const PlatformInitOptions &options)
{
	if (options.stateDir.empty())
		return Error(ErrorCode::InvalidArgument, "no state directory given");
	if (fileExists(path(options.stateDir, "platform.ini"))) {
		if (!options.force)
			return Error(ErrorCode::Conflict, options.stateDir +
								  " already holds a simulated platform "
								  "(remove it first, or pass --force)");
		CVM_CHECK(removeTree(options.stateDir));
	}
	std::unique_ptr<Platform> p(new Platform());
	p->stateDir_ = options.stateDir;
	p->identity_.version = options.version;
	p->identity_.cbitpos = options.cbitpos;
	p->identity_.unsignedCek = options.unsignedCek;
	uint8_t ids[32];
	if (RAND_bytes(p->identity_.chipId.data(), kChipIdSize) != 1 || RAND_bytes(ids, sizeof(ids)) != 1)
		return opensslError("random chip id");
	internal::HierarchyKeys keys = CVM_TRY(internal::generateHierarchyKeys());
	internal::HierarchyCerts certs =
		CVM_TRY(internal::signHierarchy(keys, options.version, ByteView(ids, 16), ByteView(ids + 16, 16)));
	p->arkCert_ = certs.ark;
	p->askCert_ = certs.ask;
	p->cekCert_ = options.unsignedCek ? certs.cekUnsigned : certs.cekSigned;
	p->ocaCert_ = certs.oca;
	p->pekCert_ = certs.pek;
	p->pdhCert_ = certs.pdh;
	CVM_CHECK(PlatformBuilder::writeState(*p, keys, certs));
	p->pdhKey_ = std::move(keys.pdh);
	p->pekKey_ = std::move(keys.pek);
	g_info("created simulated platform in %s (chip id %s...)", options.stateDir.c_str(),
	       toHex(ByteView(p->identity_.chipId.data(), 8)).c_str());
	return p;
}

Result<std::unique_ptr<Platform>> Platform::load(const std::string &stateDir)
{
	if (stateDir.empty())
		return Error(ErrorCode::InvalidArgument, "no state directory given");
	std::string iniFile = path(stateDir, "platform.ini");
	if (!fileExists(iniFile))
		return Error(ErrorCode::NotFound, stateDir +
							  " is not a simulator state directory (no platform.ini); "
							  "create one with 'cvm-sev-sim init --state-dir " +
							  stateDir + "'");
	std::unique_ptr<Platform> p(new Platform());
	p->stateDir_ = stateDir;
	std::string ini = CVM_TRY(readTextFile(iniFile, 64 * 1024));
	p->identity_ = CVM_TRY(parsePlatformIni(ini));
	p->arkCert_ = CVM_TRY(readCert(stateDir, "certs/ark.cert"));
	p->askCert_ = CVM_TRY(readCert(stateDir, "certs/ask.cert"));
	p->cekCert_ = CVM_TRY(readCert(stateDir, "certs/cek.cert"));
	p->ocaCert_ = CVM_TRY(readCert(stateDir, "certs/oca.cert"));
	p->pekCert_ = CVM_TRY(readCert(stateDir, "certs/pek.cert"));
	p->pdhCert_ = CVM_TRY(readCert(stateDir, "certs/pdh.cert"));
	p->pdhKey_ = CVM_TRY(PlatformBuilder::loadKey(stateDir, "pdh"));
	p->pekKey_ = CVM_TRY(PlatformBuilder::loadKey(stateDir, "pek"));
	CVM_CHECK(internal::checkSevCertKey(p->pdhCert_, p->pdhKey_.get(), "PDH"));
	CVM_CHECK(internal::checkSevCertKey(p->pekCert_, p->pekKey_.get(), "PEK"));
	CVM_CHECK(internal::verifyStoredChain(stateDir, p->arkCert_, p->askCert_, p->cekCert_, p->ocaCert_,
					      p->pekCert_, p->pdhCert_, toHex(p->identity_.chipId)));
	return p;
}

Bytes Platform::certChain() const
{
	return concat({ pekCert_, ocaCert_, cekCert_ });
}

} // namespace cvm::sim
