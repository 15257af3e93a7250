// SPDX-License-Identifier: Apache-2.0
//
// QEMU's option syntax as the shim reads and re-writes it.
#include <catch2/catch.hpp>

#include "cvm/shim/qemu_argv.h"

using namespace cvm;
using namespace cvm::shim;

TEST_CASE("argv splits into options by QEMU 7.2's option table")
{
	auto o = parseQemuArgv({ "-name", "guest=x", "-S", "--nodefaults", "disk.img", "-smp", "2" });
	REQUIRE(o.ok());
	REQUIRE(o->size() == 5);
	CHECK((*o)[0].name == "name");
	CHECK((*o)[0].value == "guest=x");
	CHECK((*o)[1].name == "S");
	CHECK(!(*o)[1].value);
	CHECK((*o)[2].name == "nodefaults");
	CHECK((*o)[2].spelling == "--nodefaults");
	CHECK((*o)[3].positional());
	CHECK((*o)[3].value == "disk.img");
	CHECK((*o)[4].value == "2");
	CHECK(formatQemuArgv(*o) ==
	      std::vector<std::string>{ "-name", "guest=x", "-S", "--nodefaults", "disk.img", "-smp", "2" });
}

TEST_CASE("an option missing its argument or a bare dash-dash is refused")
{
	auto a = parseQemuArgv({ "-S", "-machine" });
	REQUIRE(!a.ok());
	CHECK(a.error().message() == "-machine: requires an argument");
	CHECK(!parseQemuArgv({ "--" }).ok());
	CHECK(optionTakesArgument("object"));
	CHECK(!optionTakesArgument("daemonize"));
	CHECK(!optionTakesArgument("no-shutdown"));
}

TEST_CASE("key=value lists: implied key, escaped commas, bare flags, last one wins")
{
	auto s = OptionString::parse("socket,id=char0,path=/tmp/a,,b,server,nowait,id=char1", "backend");
	REQUIRE(s.ok());
	CHECK(s->get("backend") == "socket");
	CHECK(s->get("path") == "/tmp/a,b");
	CHECK(s->get("server") == "on");
	CHECK(s->get("wait") == "off");
	CHECK(s->get("id") == "char1");
	CHECK(s->keys() == std::vector<std::string>{ "backend", "id", "path", "server", "wait", "id" });
	// Unchanged entries keep their spelling, the escaped comma too.
	CHECK(s->format() == "socket,id=char0,path=/tmp/a,,b,server,nowait,id=char1");
	CHECK(s->remove("id"));
	CHECK(!s->remove("id"));
	s->set("fd", "7");
	CHECK(s->format() == "socket,path=/tmp/a,,b,server,nowait,fd=7");
}

TEST_CASE("numbers and booleans are read the way QEMU's visitors read them")
{
	auto s = OptionString::parse("policy=0x3,cbitpos=51,bits=010,neg=-1,big=4294967296,on=yes,off=n,bad=maybe",
				     "");
	REQUIRE(s.ok());
	CHECK(*s->getUnsigned("policy", 0xffffffff).value() == 3);
	CHECK(*s->getUnsigned("cbitpos", 63).value() == 51);
	CHECK(*s->getUnsigned("bits", 63).value() == 8);
	CHECK(!s->getUnsigned("missing", 1).value());
	CHECK(!s->getUnsigned("neg", 0xffffffff).ok());
	auto big = s->getUnsigned("big", 0xffffffff);
	REQUIRE(!big.ok());
	CHECK(big.error().message() ==
	      "parameter 'big' expects an unsigned number up to 4294967295, not '4294967296'");
	CHECK(*s->getBool("on").value() == true);
	CHECK(*s->getBool("off").value() == false);
	CHECK(!s->getBool("bad").ok());
	CHECK(!s->getUnsigned("cbitpos", 50).ok());
}

TEST_CASE("the JSON syntax of -object reads and edits like the list syntax")
{
	auto s = OptionString::parse(
		R"({"qom-type":"sev-guest","id":"lsec0","cbitpos":47,"reduced-phys-bits":1,"policy":7,"kernel-hashes":true})",
		"qom-type", true);
	REQUIRE(s.ok());
	CHECK(s->isJson());
	CHECK(s->get("qom-type") == "sev-guest");
	CHECK(s->get("cbitpos") == "47");
	CHECK(*s->getUnsigned("policy", 0xffffffff).value() == 7);
	CHECK(*s->getBool("kernel-hashes").value());
	CHECK(!s->getBool("policy").ok());
	CHECK(!s->getUnsigned("id", 10).ok());
	CHECK(s->remove("kernel-hashes"));
	CHECK(s->format().find("kernel-hashes") == std::string::npos);
	// Without allowJson the braces are just text.
	auto t = OptionString::parse("{x", "type");
	REQUIRE(t.ok());
	CHECK(t->get("type") == "{x");
	CHECK(!OptionString::parse("{\"a\":", "", true).ok());
	CHECK(OptionString::parse("[1]", "", true).ok()); // not an object: the list syntax
}

TEST_CASE("an element without a name is refused")
{
	auto s = OptionString::parse("a=1,=2", "");
	REQUIRE(!s.ok());
	CHECK(s.error().message().find("without a name") != std::string::npos);
	CHECK(splitOptionList("unix:/a,,b,server=on") == std::vector<std::string>{ "unix:/a,b", "server=on" });
}
