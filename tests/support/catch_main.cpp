// SPDX-License-Identifier: Apache-2.0
// The Catch2 main, compiled once for every test program.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <csignal>

namespace {
// Tests talk to peers that may close early; a write to a closed socket must be
// an error return, not a process kill.
const int ignoreSigpipe = [] {
	std::signal(SIGPIPE, SIG_IGN);
	return 0;
}();
} // namespace
