// SPDX-License-Identifier: Apache-2.0
#include "interop_support.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

namespace cvm::sev::test {

void requireTool()
{
	cvm::test::requireExecutable(kPython);
	if (!fileExists(kTool)) {
		fprintf(stderr, "SKIP: %s not installed (libvirt-clients-qemu)\n", kTool);
		exit(77);
	}
}

cvm::test::CommandResult ours(std::vector<std::string> args)
{
	args.insert(args.begin(), { cvm::test::buildPath("plugin/cvm-launch"), "sev" });
	return cvm::test::run(args);
}

JsonNodePtr stringArray(const std::vector<std::string> &v)
{
	JsonArray *a = json_array_new();
	for (const auto &s : v)
		json_array_add_string_element(a, s.c_str());
	JsonNodePtr n(json_node_new(JSON_NODE_ARRAY));
	json_node_take_array(n.get(), a);
	return n;
}

JsonNodePtr arrayOf(std::vector<json::ObjectBuilder> &items)
{
	JsonArray *a = json_array_new();
	for (auto &i : items)
		json_array_add_element(a, i.build().release());
	JsonNodePtr n(json_node_new(JSON_NODE_ARRAY));
	json_node_take_array(n.get(), a);
	return n;
}

json::ObjectBuilder run(const std::string &id, const std::vector<std::string> &argv)
{
	json::ObjectBuilder o;
	o.setString("id", id).setNode("argv", stringArray(argv));
	return o;
}

JsonObject *Driver::execute(const TempDir &dir, JsonNodePtr &holder)
{
	json::ObjectBuilder all;
	all.setNode("runs", arrayOf(runs))
		.setNode("digests", arrayOf(digests))
		.setNode("packets", arrayOf(packets))
		.setNode("sessions", arrayOf(sessions));
	std::string in = dir.file("cases.json"), out = dir.file("results.json");
	REQUIRE(writeFileAtomic(in, asBytes(all.serialize())).ok());
	auto r = cvm::test::run({ kPython, cvm::test::sourcePath("tests/sev/vqsv_driver.py"), kTool, in, out }, {},
				{}, 600);
	INFO(r.err);
	REQUIRE(r.exitStatus == 0);
	auto text = readTextFile(out, 64u << 20);
	INFO((text.ok() ? "" : text.error().message()));
	REQUIRE(text.ok());
	auto parsed = json::parseObject(*text);
	REQUIRE(parsed.ok());
	holder = std::move(parsed).value();
	return json_node_get_object(holder.get());
}

std::string resultString(JsonObject *results, const std::string &id)
{
	return json::getString(results, id).valueOr("missing result " + id);
}

int resultRc(JsonObject *results, const std::string &id)
{
	auto o = json::getObject(results, id);
	if (!o)
		return -1;
	return static_cast<int>(json::getInt(*o, "rc").valueOr(-1));
}

} // namespace cvm::sev::test
