// SPDX-License-Identifier: Apache-2.0
#include "transcript_support.h"

#include <cstdio>
#include <cstdlib>

#include "cvm/common/file.h"
#include "cvm/common/json.h"
#include "test_support.h"

namespace cvm::test {

namespace {

// A json-glib or GLib critical (a misused API) fails the test program.
const int fatalCriticals = [] {
	g_log_set_always_fatal(static_cast<GLogLevelFlags>(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL));
	return 0;
}();

[[noreturn]] void die(const std::string &what)
{
	fprintf(stderr, "transcript fixture: %s\n", what.c_str());
	abort();
}

std::vector<std::string> lines(const std::string &text)
{
	std::vector<std::string> out;
	size_t start = 0;
	while (start < text.size()) {
		size_t end = text.find('\n', start);
		if (end == std::string::npos)
			end = text.size();
		out.push_back(text.substr(start, end - start));
		start = end + 1;
	}
	return out;
}

int hexValue(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

} // namespace

std::string decodePythonBytes(std::string_view s)
{
	std::string out;
	for (size_t i = 0; i < s.size(); ++i) {
		if (s[i] != '\\') {
			out.push_back(s[i]);
			continue;
		}
		if (++i >= s.size())
			die("dangling backslash");
		switch (s[i]) {
		case 'n': out.push_back('\n'); break;
		case 'r': out.push_back('\r'); break;
		case 't': out.push_back('\t'); break;
		case '\\': out.push_back('\\'); break;
		case '\'': out.push_back('\''); break;
		case '"': out.push_back('"'); break;
		case 'x': {
			if (i + 2 >= s.size())
				die("short \\x escape");
			int hi = hexValue(s[i + 1]), lo = hexValue(s[i + 2]);
			if (hi < 0 || lo < 0)
				die("bad \\x escape");
			out.push_back(static_cast<char>(hi * 16 + lo));
			i += 2;
			break;
		}
		default:
			die(std::string("unknown escape \\") + s[i]);
		}
	}
	return out;
}

RawCapture readRawCapture(std::string_view fixtureName)
{
	auto text = readTextFile(fixture("qmp-qemu-7.2/" + std::string(fixtureName)));
	if (!text)
		die(text.error().message());
	RawCapture cap;
	for (const auto &l : lines(*text)) {
		if (l.size() < 7 || (l.compare(0, 4, ">>> ") != 0 && l.compare(0, 4, "<<< ") != 0))
			continue;
		char quote = l[5];
		if (l[4] != 'b' || (quote != '\'' && quote != '"') || l.back() != quote)
			die("unexpected line: " + l.substr(0, 40));
		std::string bytes = decodePythonBytes(std::string_view(l).substr(6, l.size() - 7));
		if (l[0] == '>') {
			cap.client += bytes;
			cap.clientChunks.push_back(bytes);
		} else {
			cap.server += bytes;
			cap.serverChunks.push_back(bytes);
		}
	}
	return cap;
}

std::vector<TranscriptLine> readTranscript(std::string_view fixtureName)
{
	auto text = readTextFile(fixture("qmp-qemu-7.2/" + std::string(fixtureName)));
	if (!text)
		die(text.error().message());
	std::vector<TranscriptLine> out;
	int n = 0;
	for (const auto &l : lines(*text)) {
		++n;
		if (l.empty())
			continue;
		auto node = json::parseObject(l);
		if (!node)
			die(node.error().message());
		JsonObject *o = json_node_get_object(node->get());
		GList *members = json_object_get_members(o);
		TranscriptLine t;
		t.key = static_cast<const char *>(members->data);
		t.value.reset(json_node_ref(json_object_get_member(o, t.key.c_str())));
		t.line = n;
		g_list_free(members);
		out.push_back(std::move(t));
	}
	return out;
}

} // namespace cvm::test
