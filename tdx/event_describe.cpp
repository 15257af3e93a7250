// SPDX-License-Identifier: Apache-2.0
//
// Names and one-line summaries of TCG event-log events, for people reading a
// replay. Event data is untrusted: everything here is bounds-checked and the
// output is printable ASCII.
#define G_LOG_DOMAIN "cvm-tdx"

#include <cstdio>

#include "cvm/tdx/eventlog.h"

namespace cvm::tdx {

namespace {

constexpr size_t kMaxText = 160;

struct TypeName {
	uint32_t type;
	const char *name;
};

// TCG PC Client Platform Firmware Profile, table "Events".
const TypeName kTypeNames[] = {
	{ 0x00000000, "EV_PREBOOT_CERT" },
	{ 0x00000001, "EV_POST_CODE" },
	{ 0x00000002, "EV_UNUSED" },
	{ 0x00000003, "EV_NO_ACTION" },
	{ 0x00000004, "EV_SEPARATOR" },
	{ 0x00000005, "EV_ACTION" },
	{ 0x00000006, "EV_EVENT_TAG" },
	{ 0x00000007, "EV_S_CRTM_CONTENTS" },
	{ 0x00000008, "EV_S_CRTM_VERSION" },
	{ 0x00000009, "EV_CPU_MICROCODE" },
	{ 0x0000000a, "EV_PLATFORM_CONFIG_FLAGS" },
	{ 0x0000000b, "EV_TABLE_OF_DEVICES" },
	{ 0x0000000c, "EV_COMPACT_HASH" },
	{ 0x0000000d, "EV_IPL" },
	{ 0x0000000e, "EV_IPL_PARTITION_DATA" },
	{ 0x0000000f, "EV_NONHOST_CODE" },
	{ 0x00000010, "EV_NONHOST_CONFIG" },
	{ 0x00000011, "EV_NONHOST_INFO" },
	{ 0x00000012, "EV_OMIT_BOOT_DEVICE_EVENTS" },
	{ 0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG" },
	{ 0x80000002, "EV_EFI_VARIABLE_BOOT" },
	{ 0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION" },
	{ 0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER" },
	{ 0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER" },
	{ 0x80000006, "EV_EFI_GPT_EVENT" },
	{ 0x80000007, "EV_EFI_ACTION" },
	{ 0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB" },
	{ 0x80000009, "EV_EFI_HANDOFF_TABLES" },
	{ 0x8000000a, "EV_EFI_PLATFORM_FIRMWARE_BLOB2" },
	{ 0x8000000b, "EV_EFI_HANDOFF_TABLES2" },
	{ 0x8000000c, "EV_EFI_VARIABLE_BOOT2" },
	{ 0x8000000d, "EV_EFI_GPT_EVENT2" },
	{ 0x80000010, "EV_EFI_HCRTM_EVENT" },
	{ 0x800000e0, "EV_EFI_VARIABLE_AUTHORITY" },
	{ 0x800000e1, "EV_EFI_SPDM_FIRMWARE_BLOB" },
	{ 0x800000e2, "EV_EFI_SPDM_FIRMWARE_CONFIG" },
};

std::string hex32(uint32_t v)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "0x%08x", v);
	return buf;
}

std::string hex64(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
	return buf;
}

std::string clip(std::string s)
{
	if (s.size() > kMaxText)
		s = s.substr(0, kMaxText) + "...";
	return s;
}

bool printable(uint8_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

// ASCII text with trailing NULs, or nothing.
bool asciiText(ByteView d, std::string &out)
{
	size_t n = d.size();
	while (n > 0 && d[n - 1] == 0)
		--n;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; ++i)
		if (!printable(d[i]) && d[i] != '\n' && d[i] != '\t')
			return false;
	out.assign(reinterpret_cast<const char *>(d.data()), n);
	for (char &c : out)
		if (c == '\n' || c == '\t')
			c = ' ';
	return true;
}

// UTF-16LE with only ASCII code units (UEFI variable names, some actions).
std::string utf16Ascii(ByteView d, size_t units)
{
	std::string out;
	for (size_t i = 0; i < units && 2 * i + 1 < d.size(); ++i) {
		uint16_t u = loadLe16(d, 2 * i);
		if (u == 0)
			break;
		out += (u < 0x80 && printable(static_cast<uint8_t>(u))) ? static_cast<char>(u) : '?';
	}
	return out;
}

std::string hexPrefix(ByteView d)
{
	constexpr size_t kMax = 32;
	std::string s = toHex(d.subspan(0, std::min(d.size(), kMax)));
	if (d.size() > kMax)
		s += "...";
	return s + " (" + std::to_string(d.size()) + " bytes)";
}

// UEFI_VARIABLE_DATA: GUID, u64 name length (chars), u64 data length, name, data.
std::string describeVariable(ByteView d)
{
	if (d.size() < 32)
		return hexPrefix(d);
	uint64_t nameLen = loadLe64(d, 16);
	uint64_t dataLen = loadLe64(d, 24);
	if (nameLen > (d.size() - 32) / 2)
		return hexPrefix(d);
	std::string name = utf16Ascii(d.subspan(32), static_cast<size_t>(nameLen));
	return Guid::fromBytes(d.subspan(0, 16)).toString() + ":" + name + " (" + std::to_string(dataLen) +
	       " bytes)";
}

// UEFI_PLATFORM_FIRMWARE_BLOB2 / UEFI_HANDOFF_TABLE_POINTERS2: u8 size, description.
std::string describeBlob2(ByteView d)
{
	if (d.empty() || d[0] + 1u > d.size())
		return hexPrefix(d);
	std::string text;
	if (asciiText(d.subspan(1, d[0]), text))
		return text;
	return hexPrefix(d);
}

// UEFI_IMAGE_LOAD_EVENT: u64 location, u64 length, u64 link address, u64 path length, path.
std::string describeImage(ByteView d)
{
	if (d.size() < 32)
		return hexPrefix(d);
	return "image at " + hex64(loadLe64(d, 0)) + ", " + std::to_string(loadLe64(d, 8)) + " bytes";
}

std::string describeText(ByteView d)
{
	std::string text;
	if (asciiText(d, text))
		return text;
	if (d.size() >= 2 && d.size() % 2 == 0 && d[1] == 0 && printable(d[0]))
		return utf16Ascii(d, d.size() / 2);
	return hexPrefix(d);
}

} // namespace

std::string eventTypeName(uint32_t type)
{
	for (const auto &t : kTypeNames)
		if (t.type == type)
			return t.name;
	return hex32(type);
}

std::string tcgAlgorithmName(uint16_t algorithm)
{
	switch (algorithm) {
	case tcg::kAlgSha1:
		return "sha1";
	case tcg::kAlgSha256:
		return "sha256";
	case tcg::kAlgSha384:
		return "sha384";
	case tcg::kAlgSha512:
		return "sha512";
	case tcg::kAlgSm3_256:
		return "sm3_256";
	default: {
		char buf[8];
		snprintf(buf, sizeof(buf), "0x%04x", algorithm);
		return buf;
	}
	}
}

std::string describeEvent(const LogEvent &event)
{
	ByteView d = event.data;
	switch (event.type) {
	case 0x80000001:
	case 0x80000002:
	case 0x8000000c:
	case 0x800000e0:
		return clip(describeVariable(d));
	case 0x8000000a:
	case 0x8000000b:
		return clip(describeBlob2(d));
	case 0x80000008:
		if (d.size() == 16)
			return "blob at " + hex64(loadLe64(d, 0)) + ", " + std::to_string(loadLe64(d, 8)) + " bytes";
		return clip(hexPrefix(d));
	case 0x80000003:
	case 0x80000004:
	case 0x80000005:
		return clip(describeImage(d));
	case tcg::kEvSeparator:
	case 0x80000006:
	case 0x8000000d:
		return clip(hexPrefix(d));
	default:
		return clip(describeText(d));
	}
}

} // namespace cvm::tdx
