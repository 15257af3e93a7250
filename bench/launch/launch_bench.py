#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/launch: what an attested launch costs, as ratios against baselines
measured in the same run (no absolute goals are asserted; the goals are printed).

1. the libvirt hook's no-metadata path vs /bin/true (goal: < 10 ms added per start);
2. 20 concurrent QMP-path launches (cvm-launch qemu -- cvm-sev-sim) against the
   real cvm-attestd: all must succeed; launches/s vs one launch at a time;
3. cvm-launch start vs virsh start --paused && virsh resume of the same domain
   definition (goal <= 1.25x), when libvirtd's default emulator is cvm-sev-shim.
"""
import json, os, shutil, signal, subprocess, sys, tempfile, time

build = sys.argv[1]
P = lambda rel: os.path.join(build, rel)
OVMF = "/usr/share/OVMF/OVMF_CODE.fd"
GPA = str(0x80F000)


def timed(argv, stdin=None, env=None):
    t = time.perf_counter()
    r = subprocess.run(argv, input=stdin, env=env, capture_output=True)
    return time.perf_counter() - t, r


def bench_hook():
    xml = b"<domain type='qemu'><name>cvmt-plugin-bench</name><uuid>00000000-0000-0000-0000-0000000000be</uuid>" \
          b"<memory unit='MiB'>64</memory><devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>"
    n = 200
    base = hook = 0.0
    for _ in range(n):  # interleaved, so drift hits both alike
        base += timed(["/bin/true", "cvmt-plugin-bench", "prepare", "begin", "-"], xml)[0]
        dt, r = timed([P("plugin/cvm-launch-hook"), "cvmt-plugin-bench", "prepare", "begin", "-"], xml)
        assert r.returncode == 0, r.stderr
        hook += dt
    added = (hook - base) / n * 1000
    print(f"hook no-metadata path: {hook / n * 1000:.2f} ms vs /bin/true {base / n * 1000:.2f} ms "
          f"(ratio {hook / base:.2f}x, {added:+.2f} ms added per start; goal < 10 ms)")


class Rig:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cvmt-plugin-bench-")
        subprocess.run([P("sim/cvm-sev-sim"), "init", "--state-dir", self.path("platform")], check=True,
                       capture_output=True)
        with open(self.path("owner.token"), "w") as f:
            f.write(os.urandom(16).hex())
        with open(self.path("luks.key"), "wb") as f:
            f.write(os.urandom(32))
        os.makedirs(self.path("tmp"))
        self.as_proc = subprocess.Popen([P("server/cvm-attestd"), "--insecure-listen", "127.0.0.1:0", "--ready-file",
                                         self.path("ready"), "--owner-token-file", self.path("owner.token"), "--db",
                                         self.path("as.db"), "--key-file", self.path("as.key"), "--test-roots",
                                         self.path("platform/roots"), "--no-kds"], stderr=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(self.path("ready")) and os.path.getsize(self.path("ready")):
                break
            time.sleep(0.05)
        self.url = open(self.path("ready")).readline().strip()
        subprocess.run([P("server/cvm-owner"), "register", "--server", self.url, "--token-file",
                        self.path("owner.token"), "--vm", "bench", "--policy", "0x1", "--firmware", OVMF,
                        "--secret", "luks-key:" + self.path("luks.key"), "--max-launches", "64"],
                       check=True, capture_output=True)

    def path(self, rel):
        return os.path.join(self.dir, rel)

    def launch_argv(self, i):
        return [P("plugin/cvm-launch"), "qemu", "--server", self.url, "--vm", "bench", "--secret-address", GPA,
                "--detach", "--quiet", "--pidfile", self.path(f"g{i}.pid"), "--", P("sim/cvm-sev-sim"),
                "--state-dir", self.path("platform"), "-bios", OVMF]

    def kill_guests(self):
        for f in os.listdir(self.dir):
            if f.endswith(".pid"):
                try:
                    os.kill(int(open(self.path(f)).read()), signal.SIGKILL)
                except (ValueError, ProcessLookupError):
                    pass
                os.remove(self.path(f))

    def close(self):
        self.kill_guests()
        self.as_proc.terminate()
        self.as_proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def bench_concurrent(rig, n=20):
    env = dict(os.environ, CVM_LAUNCH_CONFIG="/dev/null", TMPDIR=rig.path("tmp"))
    seq = 0.0
    for i in range(3):
        dt, r = timed(rig.launch_argv(f"s{i}"), env=env)
        assert r.returncode == 0, r.stderr.decode()
        seq += dt
        rig.kill_guests()
    seq /= 3
    t = time.perf_counter()
    procs = [subprocess.Popen(rig.launch_argv(i), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for i in range(n)]
    results = [(p.wait(), p.stderr.read().decode()) for p in procs]
    wall = time.perf_counter() - t
    ok = sum(1 for rc, _ in results if rc == 0)
    rig.kill_guests()
    for rc, err in results:
        if rc != 0:
            print("  failed:", err.strip().splitlines()[-1] if err.strip() else rc)
    print(f"{n} concurrent QMP-path launches: {ok}/{n} succeeded in {wall:.2f} s = {n / wall:.1f} launches/s "
          f"vs {1 / seq:.1f} launches/s one at a time (ratio {seq * n / wall:.2f}x)")
    return ok == n


def virsh(*args):
    return subprocess.run(["virsh", "-q", "-c", "qemu:///system", *args], capture_output=True, text=True)


def bench_libvirt(rig):
    caps = virsh("domcapabilities").stdout
    emulator = caps.split("<path>")[1].split("</path>")[0] if "<path>" in caps else ""
    cfg = subprocess.run([emulator, "--cvm-sev-shim-config"], capture_output=True, text=True) if emulator else None
    if not cfg or cfg.returncode != 0:
        print("cvm-launch start vs virsh start --paused && resume: skipped (libvirtd's default emulator is not "
              "cvm-sev-shim; CVM_TEST_SEV_SHIM=1 scripts/test-services start BUILDDIR)")
        return
    state = [l.split("=", 1)[1] for l in cfg.stdout.splitlines() if l.startswith("state-dir=")][0]
    as2 = subprocess.Popen([P("server/cvm-attestd"), "--insecure-listen", "127.0.0.1:0", "--ready-file",
                            rig.path("ready2"), "--owner-token-file", rig.path("owner.token"), "--db",
                            rig.path("as2.db"), "--key-file", rig.path("as2.key"), "--test-roots", state + "/roots",
                            "--no-kds"], stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(rig.path("ready2")) and os.path.getsize(rig.path("ready2")):
                break
            time.sleep(0.05)
        url = open(rig.path("ready2")).readline().strip()
        subprocess.run([P("server/cvm-owner"), "register", "--server", url, "--token-file", rig.path("owner.token"),
                        "--vm", "lvbench", "--policy", "0x1", "--firmware", OVMF, "--max-launches", "4"],
                       check=True, capture_output=True)
        names = {"guarded": f"cvmt-plugin-bench-g{os.getpid()}", "plain": f"cvmt-plugin-bench-p{os.getpid()}"}
        for kind, name in names.items():
            md = (f"<metadata><cvm:launch xmlns:cvm='https://cvm-launch.org/xmlns/1' server='{url}' vm='lvbench' "
                  f"secret-address='{GPA}'/></metadata>") if kind == "guarded" else ""
            xml = (f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>{md}"
                   f"<os><type arch='x86_64' machine='q35'>hvm</type><loader readonly='yes' type='pflash'>{OVMF}"
                   f"</loader><nvram template='/usr/share/OVMF/OVMF_VARS.fd'>{rig.path(name + '.fd')}</nvram></os>"
                   f"<features><acpi/></features><devices><emulator>{emulator}</emulator></devices></domain>")
            open(rig.path(name + ".xml"), "w").write(xml)
            assert virsh("define", rig.path(name + ".xml")).returncode == 0
        att = base = 0.0
        runs = 3
        env = dict(os.environ, CVM_LAUNCH_CONFIG="/dev/null")
        for _ in range(runs):
            dt, r = timed([P("plugin/cvm-launch"), "start", "--quiet", names["guarded"]], env=env)
            assert r.returncode == 0, r.stderr.decode()
            att += dt
            virsh("destroy", names["guarded"])
            t = time.perf_counter()
            assert virsh("start", "--paused", names["plain"]).returncode == 0
            assert virsh("resume", names["plain"]).returncode == 0
            base += time.perf_counter() - t
            virsh("destroy", names["plain"])
        print(f"cvm-launch start {att / runs:.2f} s vs virsh start --paused && resume {base / runs:.2f} s "
              f"(ratio {att / base:.2f}x; goal <= 1.25x)")
    finally:
        for name in names.values():
            virsh("destroy", name)
            virsh("undefine", name, "--nvram")
        as2.terminate()
        as2.wait()


def main():
    bench_hook()
    rig = Rig()
    try:
        ok = bench_concurrent(rig)
        bench_libvirt(rig)
    finally:
        rig.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
