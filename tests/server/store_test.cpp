// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <sys/stat.h>

#include "cvm/common/file.h"
#include "store_pool.h"
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

TEST_CASE("the database runs in WAL mode, synchronous NORMAL unless FULL is asked for")
{
	Fixture f;
	// A separate connection sees the mode recorded in the file.
	auto db = Database::open(f.path, false);
	REQUIRE(db.ok());
	Statement mode = std::move((*db)->prepare("PRAGMA journal_mode").value());
	REQUIRE(*mode.step());
	CHECK(mode.text(0) == "wal");
	auto synchronous = [](Store &store) {
		Statement st = std::move(store.database().prepare("PRAGMA synchronous").value());
		REQUIRE(*st.step());
		return st.integer(0);
	};
	CHECK(synchronous(*f.pool->lease().value()) == 1); // NORMAL
	StoreOptions full;
	full.syncFull = true;
	auto strict = StorePool::open(f.dir.file("full.db"), full);
	REQUIRE(strict.ok());
	CHECK(synchronous(*(*strict)->lease().value()) == 2); // FULL
}

TEST_CASE("counting active launches reads two ranges of the active-launch index, not the VM's history")
{
	Fixture f;
	auto store = std::move(f.pool->lease().value());
	Statement plan = std::move(store->database()
					   .prepare("EXPLAIN QUERY PLAN SELECT (SELECT count(*) FROM launches WHERE vm_id = "
						    "?1 AND state = 'validated') + (SELECT count(*) FROM launches WHERE "
						    "vm_id = ?1 AND state = 'pending' AND expires_at > ?2)")
					   .value());
	std::string text;
	while (*plan.step())
		text += plan.text(3) + "\n";
	INFO(text);
	CHECK(text.find("USING COVERING INDEX launches_active (vm_id=? AND state=?)") != std::string::npos);
	CHECK(text.find("USING COVERING INDEX launches_active (vm_id=? AND state=? AND expires_at>?)") !=
	      std::string::npos);
	CHECK(text.find("SCAN launches") == std::string::npos);
}

TEST_CASE("concurrent write jobs share commits, and a failing job is rolled back alone")
{
	Fixture f;
	// synchronous=FULL makes each COMMIT wait for the disk, so callers that
	// arrive meanwhile queue and commit together.
	StoreOptions full;
	full.syncFull = true;
	auto pool = std::move(StorePool::open(f.dir.file("group.db"), full).value());
	constexpr int kThreads = 16, kEach = 10;
	std::atomic<int> failedAsAsked{ 0 }, otherFailures{ 0 };
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back([&, t] {
			for (int i = 0; i < kEach; ++i) {
				std::string id = "l-" + std::to_string(t) + "-" + std::to_string(i);
				bool fail = i == 3; // inserts, then refuses: nothing of it may stay
				auto s = pool->write([&](Store &store) -> Status {
					CVM_CHECK(store.insertLaunch(launch(id, "vm", 1, 2)));
					if (fail)
						return Error(ErrorCode::Conflict, "refused on purpose");
					return {};
				});
				if (!s && fail && s.error().code() == ErrorCode::Conflict)
					++failedAsAsked;
				else if (!s)
					++otherFailures;
			}
		});
	for (auto &t : threads)
		t.join();
	CHECK(otherFailures == 0);
	CHECK(failedAsAsked == kThreads);
	auto stats = pool->stats();
	CHECK(stats.jobs == kThreads * kEach);
	CHECK(stats.commits < stats.jobs); // some groups held more than one job
	auto store = std::move(pool->lease().value());
	auto all = store->listLaunches("vm", 1000);
	REQUIRE(all.ok());
	CHECK(all->size() == kThreads * (kEach - 1));
	for (int t = 0; t < kThreads; ++t)
		CHECK_FALSE(store->getLaunch("vm", "l-" + std::to_string(t) + "-3")->has_value());
}
