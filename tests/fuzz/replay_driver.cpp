// SPDX-License-Identifier: Apache-2.0
//
// Without libFuzzer: runs LLVMFuzzerTestOneInput over every file named on the
// command line (files or directories of files), so the seed corpus is a
// regression test in every build.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <dirent.h>
#include <sys/stat.h>

#include "cvm/common/file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int runFile(const std::string &path)
{
	auto data = cvm::readFile(path, 64u << 20);
	if (!data) {
		fprintf(stderr, "%s\n", data.error().message().c_str());
		return 1;
	}
	LLVMFuzzerTestOneInput(data->data(), data->size());
	return 0;
}

int main(int argc, char **argv)
{
	int ran = 0;
	for (int i = 1; i < argc; ++i) {
		std::string arg = argv[i];
		if (!arg.empty() && arg[0] == '-')
			continue; // libFuzzer options
		struct stat st;
		if (stat(arg.c_str(), &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			DIR *d = opendir(arg.c_str());
			while (struct dirent *e = d ? readdir(d) : nullptr) {
				if (e->d_name[0] == '.')
					continue;
				if (runFile(arg + "/" + e->d_name) != 0)
					return 1;
				++ran;
			}
			if (d)
				closedir(d);
		} else {
			if (runFile(arg) != 0)
				return 1;
			++ran;
		}
	}
	// Also the empty input, which every parser must survive.
	LLVMFuzzerTestOneInput(nullptr, 0);
	printf("replayed %d inputs\n", ran);
	return 0;
}
