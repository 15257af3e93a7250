// SPDX-License-Identifier: Apache-2.0
//
// The SEV crypto of one whole launch+validate flow, both ends, in-process:
// the owner session (GODH keygen + ECDH + wrap), the platform's LAUNCH_START
// (ECDH + unwrap), LAUNCH_MEASURE, the server's measurement check, the
// secret table sealed and opened. In the benchmark the platform side runs in
// the bench process on the same CPUs as the server, so this (not only the
// server's keygen + derive) is what the flows compete with.
#pragma once

#include "crypto_bound.h"

namespace cvm::test {
class TestPlatform;
}

namespace cvm::bench {

// Whole-flow crypto operations per second on `threads` threads.
Rate flowCryptoRate(const test::TestPlatform &platform, unsigned threads, double seconds);

} // namespace cvm::bench
