// SPDX-License-Identifier: Apache-2.0
//
// ProxyCore with arbitrary bytes from both sides: the input is a sequence of
// records, a control byte (bit 0: side, bit 1: reconnect the client first,
// bit 2: the client's bytes come with a passed descriptor) then up to 255
// bytes (length byte). Nothing may crash; passed descriptors are closed by
// the time the core is gone (none may leak).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "cvm/common/json.h"
#include "cvm/shim/qmp_proxy.h"

namespace {

class Filter : public cvm::shim::CommandFilter
{
public:
	cvm::shim::Disposition filter(const cvm::qmp::Command &c) override
	{
		if (c.name == "query-sev-capabilities")
			return cvm::shim::Disposition::reply(cvm::json::ObjectBuilder().setInt("cbitpos", 51).build());
		if (c.name == "x-fail")
			return cvm::shim::Disposition::reply(cvm::Error(cvm::ErrorCode::Remote, "no", "GenericError"));
		return cvm::shim::Disposition::forward();
	}
};

// The lowest free descriptor number: unchanged after a run if none leaked.
int lowestFreeFd()
{
	int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
	::close(fd);
	return fd;
}

void runRecords(const uint8_t *data, size_t size)
{
	Filter filter;
	cvm::shim::ProxyCore core(filter);
	core.clientConnected();
	size_t i = 0;
	while (i + 2 <= size) {
		uint8_t control = data[i], len = data[i + 1];
		i += 2;
		size_t n = len < size - i ? len : size - i;
		std::string_view bytes(reinterpret_cast<const char *>(data + i), n);
		i += n;
		if (control & 2) {
			core.clientDisconnected();
			core.clientConnected();
		}
		if (control & 1) {
			core.fromQemu(bytes);
		} else {
			std::vector<cvm::UniqueFd> fds;
			if (control & 4)
				fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
			core.fromClient(bytes, std::move(fds));
		}
		if (control & 8)
			continue; // let writes for QEMU accumulate
		(void)core.takeToQemu();
		(void)core.takeToClient();
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const int freeBefore = lowestFreeFd();
	runRecords(data, size);
	if (lowestFreeFd() != freeBefore)
		std::abort(); // a passed descriptor leaked
	return 0;
}
