// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "cvm/common/file.h"
#include "store.h"
#include "store_schema.h"

using namespace cvm;
using namespace cvm::server;

namespace {

struct Fixture {
	TempDir dir = std::move(TempDir::create().value());
	std::string path = dir.file("test.db");
	std::unique_ptr<StorePool> pool = std::move(StorePool::open(path).value());
};

LaunchRecord launch(const std::string &id, const std::string &vm, int64_t created, int64_t expires)
{
	LaunchRecord l;
	l.id = id;
	l.vmId = vm;
	l.state = launch_state::kPending;
	l.policy = 1;
	l.sealedKeys = Bytes(61, 7);
	l.created = created;
	l.expiresAt = expires;
	return l;
}

} // namespace

TEST_CASE("a fresh database gets the schema once; files are private")
{
	Fixture f;
	auto store = f.pool->lease();
	REQUIRE(store.ok());
	CHECK(*(*store)->schemaVersion() == latestSchemaVersion());
	// Re-opening applies nothing new.
	auto again = Store::open(f.path, true);
	REQUIRE(again.ok());
	CHECK(*(*again)->schemaVersion() == latestSchemaVersion());
	struct stat st;
	REQUIRE(stat(f.path.c_str(), &st) == 0);
	CHECK((st.st_mode & 0777) == 0600);
	std::string wal = f.path + "-wal";
	if (stat(wal.c_str(), &st) == 0)
		CHECK((st.st_mode & 0077) == 0);
}

TEST_CASE("a database from a newer version is refused")
{
	Fixture f;
	{
		auto store = std::move(f.pool->lease().value());
		REQUIRE(store->database().exec("INSERT INTO schema_migrations VALUES (999, 'future', 0)").ok());
	}
	auto r = Store::open(f.path, true);
	REQUIRE_FALSE(r.ok());
	CHECK(r.error().message().find("newer than this cvm-attestd") != std::string::npos);
}

TEST_CASE("audit records cannot be changed or deleted")
{
	Fixture f;
	auto store = std::move(f.pool->lease().value());
	AuditRecord r{ 0, 100, "vm1", "", "register", "ok", "registered", "", "" };
	REQUIRE(store->appendAudit(r).ok());
	REQUIRE(store->appendAudit(r).ok());
	auto list = store->listAudit("vm1", 10);
	REQUIRE(list.ok());
	REQUIRE(list->size() == 2);
	CHECK((*list)[0].seq < (*list)[1].seq);

	auto upd = store->database().exec("UPDATE audit SET result = 'forged'");
	REQUIRE_FALSE(upd.ok());
	CHECK(upd.error().message().find("append-only") != std::string::npos);
	auto del = store->database().exec("DELETE FROM audit");
	REQUIRE_FALSE(del.ok());
	CHECK(del.error().message().find("append-only") != std::string::npos);
	CHECK(store->listAudit("vm1", 10)->size() == 2);
	// The newest N, oldest first.
	CHECK(store->listAudit("vm1", 1)->front().seq == (*list)[1].seq);
}

TEST_CASE("launch states only move forward and keys are dropped on the way")
{
	Fixture f;
	auto store = std::move(f.pool->lease().value());
	REQUIRE(store->insertLaunch(launch("l1", "vm1", 100, 700)).ok());
	REQUIRE(store->moveLaunch("l1", launch_state::kPending, launch_state::kValidated, std::nullopt).ok());
	auto l = store->getLaunch("vm1", "l1");
	REQUIRE(l.ok());
	REQUIRE(l->has_value());
	CHECK((*l)->state == "validated");
	CHECK((*l)->sealedKeys.empty());
	CHECK_FALSE((*l)->finished.has_value());

	// A second transition from pending (a replayed validation) finds nothing.
	auto again = store->moveLaunch("l1", launch_state::kPending, launch_state::kValidated, std::nullopt);
	REQUIRE_FALSE(again.ok());
	CHECK(again.error().code() == ErrorCode::Conflict);
	// The trigger refuses going back even when asked directly.
	CHECK_FALSE(store->database().exec("UPDATE launches SET state = 'pending' WHERE id = 'l1'").ok());
	REQUIRE(store->moveLaunch("l1", launch_state::kValidated, launch_state::kEnded, 200).ok());
	CHECK(*(*store->getLaunch("vm1", "l1"))->finished == 200);
	CHECK_FALSE(store->getLaunch("vm2", "l1")->has_value());
}

TEST_CASE("active launches: pending and unexpired, or validated")
{
	Fixture f;
	auto store = std::move(f.pool->lease().value());
	REQUIRE(store->insertLaunch(launch("a", "vm1", 100, 200)).ok());
	REQUIRE(store->insertLaunch(launch("b", "vm1", 100, 1000)).ok());
	REQUIRE(store->insertLaunch(launch("c", "vm1", 100, 1000)).ok());
	REQUIRE(store->insertLaunch(launch("d", "vm2", 100, 1000)).ok());
	REQUIRE(store->moveLaunch("c", launch_state::kPending, launch_state::kValidated, std::nullopt).ok());
	CHECK(*store->countActiveLaunches("vm1", 150) == 3);
	CHECK(*store->countActiveLaunches("vm1", 300) == 2); // a expired
	auto stale = store->expiredPending(300, 10);
	REQUIRE(stale.ok());
	REQUIRE(stale->size() == 1);
	CHECK(stale->front().id == "a");
	CHECK(store->unfinishedLaunches("vm1")->size() == 3);
}

TEST_CASE("registrations are created then replaced, keeping their creation time")
{
	Fixture f;
	auto store = std::move(f.pool->lease().value());
	VmRecord vm{ "vm1", "amd-sev", "{}", "[]", Bytes(40, 1), 2, std::nullopt, 100, 100 };
	CHECK(*store->putVm(vm) == true);
	vm.maxLaunches = 5;
	vm.created = 999;
	vm.updated = 200;
	vm.sealedSecrets.clear();
	CHECK(*store->putVm(vm) == false);
	auto back = store->getVm("vm1");
	REQUIRE(back->has_value());
	CHECK((*back)->maxLaunches == 5);
	CHECK((*back)->created == 100);
	CHECK((*back)->updated == 200);
	CHECK((*back)->sealedSecrets.empty());
	CHECK(*store->deleteVm("vm1"));
	CHECK_FALSE(*store->deleteVm("vm1"));
}

TEST_CASE("write transactions roll back unless committed")
{
	Fixture f;
	auto store = std::move(f.pool->lease().value());
	{
		auto txn = store->beginWrite();
		REQUIRE(txn.ok());
		REQUIRE(store->insertLaunch(launch("x", "vm1", 1, 2)).ok());
	}
	CHECK_FALSE(store->getLaunch("vm1", "x")->has_value());
	{
		auto txn = std::move(store->beginWrite().value());
		REQUIRE(store->insertLaunch(launch("x", "vm1", 1, 2)).ok());
		REQUIRE(txn.commit().ok());
	}
	// A second connection sees it (the pool hands out another one while
	// the first is leased).
	auto other = std::move(f.pool->lease().value());
	CHECK(other->getLaunch("vm1", "x")->has_value());
}
