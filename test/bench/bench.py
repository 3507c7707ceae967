#!/usr/bin/python3
"""bench.py -- the measurements behind `make bench` (run by run-bench.sh).

Runs against the throwaway cluster run-bench.sh started (PGHOST, PGPORT,
PGUSER, PGDATABASE in the environment), prints a table and writes a JSON
file of everything measured.  Standard library only; psql and pgbench are
driven as subprocesses.

  1. the floor: test/bench/floor.c doing one call's process work outside
     PostgreSQL (vfork+execve and posix_spawn; the faster is the floor);
  2. pgbench, 1 client: exec_run and the query floor mixed at random per
     transaction in one run (so that both see the same machine); COPY FROM
     PROGRAM, PL/sh and plpython3u each in a run of its own (its own
     backend), ABBA with exec_run alone; then exec_run with 1 and 2 clients
     and the floor with 1 and 2 processes, back to back;
  3. a plpgsql loop of exec_run in a backend holding 512 MB of private
     memory (temp buffers) and in a plain one;
  4. a 1 MiB echo through exec_run, against the floor's echo plus the SQL
     parse and print of the same document;
  5. the delay from pg_cancel_backend to the error, and the overshoot of
     timeout_ms;
  6. (with --lean) exec_run's own overhead in µs per call with a program
     without libc, over its floor and the query floor;
  7. a batch of --batch-size trivial requests through exec_try_many at
     max_parallel 1, 2 and 16, against sequential exec_try over the same
     rows and the floor with 2 processes (ABBA, in one session).
  8. exec_run in each level of execjson.sandbox (none, processes,
     filesystem, network, filesystem+network), each a 1-client pgbench run
     of its own (ABBA), against the floor of the same round; with the
     latency percentiles of every transaction (pgbench -l).
  9. the cost of pg_stat_execjson: the trivial call with
     execjson.stats_track on and off, mixed at random per transaction in
     one pgbench run a round.

The machine is shared and noisy: every ratio is computed within a round,
configurations run back to back (ABBA: each twice a round, in mirrored
order), and the figure reported is the median over the rounds.  Targets are
reported as pass/fail; nothing here asserts a timing, and the exit status is
non-zero only if the setup failed.
"""

import argparse
import datetime
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
PSQL = os.path.join(PGBIN, "psql")
PGBENCH = os.path.join(PGBIN, "pgbench")


def log(msg):
    print("==> " + msg, file=sys.stderr, flush=True)


def sql_lit(s):
    return "'" + s.replace("'", "''") + "'"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def psql(sql, check=True):
    """Run sql in a new session; return stdout (unaligned, tuples only)."""
    p = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
                       input=sql, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("psql failed: " + p.stderr.strip())
    return p.stdout


class Session:
    """A psql process kept open: one backend, commands sent one at a time."""

    MARK = "__execjson_bench_done__"

    def __init__(self):
        self.p = subprocess.Popen(
            [PSQL, "-X", "-q", "-A", "-t", "-v", "VERBOSITY=terse"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.pid = int(self.run("SELECT pg_backend_pid();")[0])

    def send(self, sql):
        self.p.stdin.write(sql.rstrip() + "\n\\echo " + self.MARK + "\n")
        self.p.stdin.flush()

    def collect(self):
        lines = []
        while True:
            line = self.p.stdout.readline()
            if line == "":
                raise RuntimeError("psql session ended: " + "".join(lines))
            line = line.rstrip("\n")
            if line == self.MARK:
                return lines
            lines.append(line)

    def run(self, sql):
        self.send(sql)
        lines = self.collect()
        errors = [l for l in lines if l.startswith(("ERROR:", "FATAL:", "psql:"))]
        if errors:
            raise RuntimeError(" / ".join(errors)[-500:])
        return lines

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(timeout=10)
        except Exception:
            self.p.kill()


def rss_kb(pid):
    """Private resident memory (RssAnon) and VmRSS of a process, in kB."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


class Bench:
    def __init__(self, args):
        self.a = args
        self.bin = os.path.join(args.test_dir, "bin")
        self.ok = os.path.join(self.bin, "ok")
        self.xjtool = os.path.join(self.bin, "xjtool")
        self.rounds = args.rounds
        self.secs = args.seconds
        self.samples = {}       # name -> per round, the list of measurements
        self.raw = {}           # name -> per round, their mean (or None)
        self.floor_method = []  # the faster floor method, per round
        self.load_per_round = []  # 1-minute load average at the start of each round
        self.errors = []
        self.results = {}
        self.sandbox_latencies = {}  # level -> every transaction's latency, µs
        self.doc_len = 0        # the 1 MiB document (section 4), once written

    # ---------------------------------------------------------------- setup

    def setup(self):
        log("setting up the database")
        ok_req = json.dumps({"kind": "run_program_v1", "program_path": self.ok,
                             "stdin_json": {"x": 1}})
        if self.a.only_sandbox:
            # only what section 7 needs: execjson and the exec_run script
            psql("CREATE EXTENSION execjson;")
            if psql("SELECT exec_run(%s);" % sql_lit(ok_req)).split() != ['{"ok":', 'true}']:
                raise RuntimeError("exec_run(ok) does not answer {\"ok\": true}")
            path = os.path.join(self.a.workdir, "exec.sql")
            with open(path, "w") as f:
                f.write("SELECT exec_run(%s);\n" % sql_lit(ok_req))
            self.scripts = {"exec": path}
            return
        psql(f"""
CREATE EXTENSION execjson;
CREATE EXTENSION plsh;
CREATE EXTENSION plpython3u;
CREATE UNLOGGED TABLE copy_sink (j jsonb);

-- PL/sh: the JSON on the program's stdin, its stdout back as text
CREATE FUNCTION plsh_ok(text) RETURNS text LANGUAGE plsh AS $$
#!/bin/sh
printf '%s' "$1" | {self.ok}
$$;

CREATE FUNCTION py_ok(req text) RETURNS jsonb LANGUAGE plpython3u AS $$
import subprocess, json
r = subprocess.run(["{self.ok}"], input=req.encode(), capture_output=True, check=True)
return json.dumps(json.loads(r.stdout))
$$;

CREATE FUNCTION py_ok_timeout(req text) RETURNS jsonb LANGUAGE plpython3u AS $$
import subprocess, json
r = subprocess.run(["{self.ok}"], input=req.encode(), capture_output=True, check=True, timeout=300)
return json.dumps(json.loads(r.stdout))
$$;

-- n trivial exec_run calls in a loop; microseconds per call
CREATE FUNCTION bench_exec(n int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  req jsonb := {sql_lit(ok_req)};
  t0 timestamptz := clock_timestamp();
BEGIN
  FOR i IN 1..n LOOP
    PERFORM exec_run(req);
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
END $$;

-- 1 MiB round trip: exec_run of "xjtool echo" with the document on stdin,
-- its answer printed as text; microseconds per call
CREATE FUNCTION bench_1mib_exec(n int, path text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  req jsonb := jsonb_build_object('kind', 'run_program_v1',
                 'program_path', {sql_lit(self.xjtool)},
                 'argv', jsonb_build_array('echo'),
                 'stdin_json', pg_read_file(path)::jsonb);
  t0 timestamptz := clock_timestamp();
BEGIN
  FOR i IN 1..n LOOP
    PERFORM exec_run(req)::text;
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
END $$;

-- its SQL floor: parse the same document and print it
CREATE FUNCTION bench_1mib_sql(n int, path text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  doc text := pg_read_file(path);
  t0 timestamptz := clock_timestamp();
BEGIN
  FOR i IN 1..n LOOP
    PERFORM doc::jsonb::text;
  END LOOP;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
END $$;

-- timeout overshoot: ms past timeout_ms at which exec_timeout arrives,
-- measured from just before the call
CREATE FUNCTION bench_timeout(n int, tmo int) RETURNS SETOF float8 LANGUAGE plpgsql AS $$
DECLARE
  req jsonb := jsonb_build_object('kind', 'run_program_v1',
                 'program_path', {sql_lit(self.xjtool)},
                 'argv', jsonb_build_array('sleep', '10000'),
                 'timeout_ms', tmo);
  t0 timestamptz;
  t1 timestamptz;
  detail text;
BEGIN
  FOR i IN 1..n LOOP
    t0 := clock_timestamp();
    BEGIN
      PERFORM exec_run(req);
      RAISE EXCEPTION 'exec_run did not time out';
    EXCEPTION WHEN SQLSTATE '38000' THEN
      t1 := clock_timestamp();
      GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
      IF position('exec_timeout' IN detail) = 0 THEN
        RAISE EXCEPTION 'not exec_timeout: %', detail;
      END IF;
    END;
    RETURN NEXT extract(epoch FROM t1 - t0) * 1000 - tmo;
  END LOOP;
END $$;
""")
        # sanity: every configuration answers {"ok": true}
        copy_cmd = sql_lit("echo '{\"x\":1}' | " + self.ok)
        out = psql(f"""
SELECT exec_run({sql_lit(ok_req)});
SELECT plsh_ok('{{"x":1}}')::jsonb;
SELECT py_ok('{{"x":1}}');
SELECT py_ok_timeout('{{"x":1}}');
COPY copy_sink FROM PROGRAM {copy_cmd};
SELECT j FROM copy_sink;
TRUNCATE copy_sink;
""").split()
        if out != ['{"ok":', 'true}'] * 5:
            raise RuntimeError("unexpected answers: %r" % out)

        # The 1 MiB document: an array of small objects, compact, < 1 MiB,
        # keys in jsonb's order (shorter first, then bytewise), so that the
        # file is byte for byte what exec_run writes to the program's stdin:
        # the floors then echo and parse exactly the text exec_run does.
        def jsonb_order(obj):
            return {k: obj[k] for k in sorted(obj, key=lambda k: (len(k.encode()), k.encode()))}
        items, i, size = [], 0, 2
        while True:
            i += 1
            item = jsonb_order({"id": i, "name": "item %d" % i, "tags": ["alpha", "beta"],
                                "score": i * 0.25, "active": i % 2 == 0, "note": None})
            s = len(json.dumps(item, separators=(",", ":"))) + 1
            if size + s > self.a.doc_bytes:
                break
            items.append(item)
            size += s
        self.doc_path = os.path.join(self.a.workdir, "doc.json")
        with open(self.doc_path, "w") as f:
            f.write(json.dumps(items, separators=(",", ":")))
        os.chmod(self.doc_path, 0o644)
        self.doc_len = os.path.getsize(self.doc_path)
        same = psql(f"""
SET execjson.max_stdout_bytes = '4MB';
SELECT decode(exec_run(jsonb_build_object('kind', 'run_program_v1',
         'program_path', {sql_lit(self.xjtool)}, 'argv', jsonb_build_array('hexin'),
         'stdin_json', pg_read_file({sql_lit(self.doc_path)})::jsonb)) #>> '{{}}', 'hex')
       = pg_read_binary_file({sql_lit(self.doc_path)});
""").strip()
        self.results["doc"] = {"bytes": self.doc_len, "objects": len(items),
                               "identical_to_exec_run_stdin": same == "t"}
        if same != "t":
            self.errors.append("the 1 MiB document differs from what exec_run writes to stdin")

        # the diagnostic program without libc: allow its directory too
        if self.a.lean:
            self.lean_dir = os.path.dirname(self.a.lean)
            psql("ALTER SYSTEM SET execjson.allow_prefixes = %s; SELECT pg_reload_conf();"
                 % sql_lit(self.bin + "," + self.lean_dir))
            time.sleep(0.2)
            lean_req = json.dumps({"kind": "run_program_v1", "program_path": self.a.lean,
                                   "stdin_json": {"x": 1}})
            psql(f"""
CREATE FUNCTION py_lean(req text) RETURNS jsonb LANGUAGE plpython3u AS $$
import subprocess, json
r = subprocess.run(["{self.a.lean}"], input=req.encode(), capture_output=True, check=True)
return json.dumps(json.loads(r.stdout))
$$;""")
            out = psql("SELECT exec_run(%s); SELECT py_lean('{}');" % sql_lit(lean_req)).split()
            if out != ['{"ok":', 'true}'] * 2:
                raise RuntimeError("lean program: %r" % out)

        # pgbench scripts
        scripts = {
            "exec": f"SELECT exec_run({sql_lit(ok_req)});",
            # a space after ':' -- pgbench takes ":true" for a variable
            "qfloor": "SELECT '{\"ok\": true}'::jsonb;",
            "copy": "COPY copy_sink FROM PROGRAM "
                    + sql_lit("echo '{\"x\":1}' | " + self.ok) + ";",
            "plsh": "SELECT plsh_ok('{\"x\": 1}')::jsonb;",
            "plpy": "SELECT py_ok('{\"x\": 1}');",
            "plpy_timeout": "SELECT py_ok_timeout('{\"x\": 1}');",
        }
        if self.a.lean:
            scripts["exec_lean"] = "SELECT exec_run(%s);" % sql_lit(lean_req)
            scripts["plpy_lean"] = "SELECT py_lean('{\"x\": 1}');"
        # pg_stat_execjson on and off: the same statement but for the value
        # set (set_config runs first, in the target list's order)
        for onoff in ("on", "off"):
            scripts["stats_" + onoff] = (
                "SELECT set_config('execjson.stats_track', '%s', false), exec_run(%s);"
                % (onoff, sql_lit(ok_req)))
            if self.a.lean:
                scripts["stats_%s_lean" % onoff] = (
                    "SELECT set_config('execjson.stats_track', '%s', false), exec_run(%s);"
                    % (onoff, sql_lit(lean_req)))
        self.scripts = {}
        for name, text in scripts.items():
            path = os.path.join(self.a.workdir, name + ".sql")
            with open(path, "w") as f:
                f.write(text + "\n")
            self.scripts[name] = path

    # ------------------------------------------------------------- runners

    def floor(self, method, procs=1, echo=False, secs=None, bindir=None):
        cmd = [self.a.floor, "-m", method, "-p", str(procs),
               "-t", str(secs or self.a.floor_seconds), "-d", bindir or self.bin]
        if echo:
            cmd += ["-e", self.doc_path]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("floor failed: " + p.stderr.strip())
        r = json.loads(p.stdout)
        return {"us": r["us_per_call"], "rate": r["calls_per_s"]}

    def pgbench(self, scripts, clients, secs):
        """Run pgbench over one or more scripts (picked at random per
        transaction, so that they share the machine's conditions); return
        {script: {"us": µs per call, "rate": calls/s}}.  With one script and
        several clients, rate is the total and us the per-client latency."""
        cmd = [PGBENCH, "-n", "-M", "prepared", "-T", str(secs),
               "-c", str(clients), "-j", str(clients)]
        for s in scripts:
            cmd += ["-f", self.scripts[s] + "@1"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        out = p.stdout
        failed = re.search(r"^number of failed transactions: (\d+)", out, re.M)
        tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", out, re.M)
        if p.returncode != 0 or not tps or not failed or int(failed.group(1)) > 0:
            raise RuntimeError("pgbench %s -c %d failed: %s" % (
                " ".join(scripts), clients, (p.stderr or out).strip()[-500:]))
        if "copy" in scripts:
            psql("TRUNCATE copy_sink;")
        if len(scripts) == 1:
            rate = float(tps.group(1))
            return {scripts[0]: {"us": clients * 1e6 / rate, "rate": rate}}
        res = {}
        for block in re.split(r"^SQL script \d+: ", out, flags=re.M)[1:]:
            path = block.split("\n", 1)[0].strip()
            name = [s for s in scripts if self.scripts[s] == path][0]
            lat = re.search(r"- latency average = ([0-9.]+) ms", block)
            n = re.search(r"- (\d+) transactions", block)
            if not lat or not n or int(n.group(1)) == 0:
                raise RuntimeError("pgbench: no latency for " + name)
            us = float(lat.group(1)) * 1000
            res[name] = {"us": us, "rate": 1e6 / us, "calls": int(n.group(1))}
        return res

    def pgbench_medians(self, scripts, secs):
        """One pgbench run, 1 client, over scripts picked at random per
        transaction, with a per-transaction log: {script: {"us": the
        median latency, "rate": 1e6 / that}}.  Medians, not means: a
        difference of a few µs must show through the ms-long stalls a
        shared machine puts into a few transactions."""
        prefix = os.path.join(self.a.workdir, "txlog")
        for f in os.listdir(self.a.workdir):
            if f.startswith("txlog"):
                os.unlink(os.path.join(self.a.workdir, f))
        cmd = [PGBENCH, "-n", "-M", "prepared", "-T", str(secs), "-c", "1", "-j", "1",
               "-l", "--log-prefix", prefix]
        for s in scripts:
            cmd += ["-f", self.scripts[s] + "@1"]
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=self.a.workdir)
        failed = re.search(r"^number of failed transactions: (\d+)", p.stdout, re.M)
        if p.returncode != 0 or not failed or int(failed.group(1)) > 0:
            raise RuntimeError("pgbench %s failed: %s" % (
                " ".join(scripts), (p.stderr or p.stdout).strip()[-500:]))
        lat = {i: [] for i in range(len(scripts))}
        for f in os.listdir(self.a.workdir):
            if not f.startswith("txlog"):
                continue
            with open(os.path.join(self.a.workdir, f)) as fh:
                for line in fh:
                    # client_id transaction_no time script_no time_epoch time_us
                    fields = line.split()
                    lat[int(fields[3])].append(int(fields[2]))
        res = {}
        for i, name in enumerate(scripts):
            if not lat[i]:
                raise RuntimeError("pgbench: no transaction of " + name)
            us = statistics.median(lat[i])
            res[name] = {"us": us, "rate": 1e6 / us, "calls": len(lat[i])}
        return res

    def add(self, name, rnd, value):
        """Record one measurement; a round's figure is the mean of its
        measurements (ABBA orders take each configuration twice)."""
        self.samples.setdefault(name, [[] for _ in range(self.rounds)])[rnd].append(value)

    def attempt(self, rnd, what, fn):
        """fn() returns {name: value}; errors are recorded, not fatal."""
        try:
            for name, value in fn().items():
                self.add(name, rnd, value)
        except Exception as e:      # keep going: report what could be measured
            self.errors.append("round %d, %s: %s" % (rnd + 1, what, e))
            log("error: %s: %s" % (what, e))

    def finish_samples(self):
        for name, rounds in self.samples.items():
            out = []
            for vals in rounds:
                if not vals:
                    out.append(None)
                    continue
                rate = statistics.mean(v["rate"] for v in vals)
                us = statistics.mean(v["us"] for v in vals)
                out.append({"us": us, "rate": rate, "n": len(vals)})
            self.raw[name] = out

    # ------------------------------------------------------ 1. and 2. rounds

    def trivial_rounds(self):
        """Each round, four blocks, each ABBA (mirrored order, so every
        configuration is measured twice around the same moment):

          - the floors (outside PostgreSQL) around one pgbench run that mixes
            exec_run and the query floor at random per transaction, so that
            both see the same machine (neither starts a process any other
            way, so they do not disturb each other's backend);
          - the other ways of running the program, each in a pgbench run of
            its own (its own backend: PL/sh forks the backend, which would
            leave copy-on-write faults to whatever runs next in it), with
            exec_run alone at both ends;
          - exec_run with 1 and 2 clients, the floor with 1 and 2 processes.
        """
        fs = self.a.floor_seconds
        ts = self.a.alt_seconds
        lean = bool(self.a.lean)
        floors = [
            ("floor vfork", lambda: {"floor_vfork_1": self.floor("vfork", secs=fs / 2)}),
            ("floor spawn", lambda: {"floor_spawn_1": self.floor("spawn", secs=fs / 2)}),
        ]
        mixed = ["exec", "qfloor"]
        if lean:
            floors.append(("floor lean", lambda: {
                "floor_lean_1": self.floor("vfork", secs=fs / 4, bindir=self.lean_dir)}))
            mixed.append("exec_lean")

        def solo(script, name):
            return (name, lambda: {name: self.pgbench([script], 1, ts)[script]})
        alternatives = [solo("exec", "exec_solo"), solo("plpy", "plpy_1"),
                        solo("plpy_timeout", "plpy_timeout_1"), solo("copy", "copy_1"),
                        solo("plsh", "plsh_1")]
        if lean:
            alternatives += [solo("plpy_lean", "plpy_lean_1"), solo("exec_lean", "exec_lean_solo")]

        for r in range(self.rounds):
            log("trivial call, round %d/%d" % (r + 1, self.rounds))
            self.load_per_round.append(open("/proc/loadavg").read().split()[0])
            order = floors if r % 2 == 0 else floors[::-1]
            for what, fn in order:
                self.attempt(r, what, fn)
            self.attempt(r, "pgbench exec_run + query floor", lambda: {
                k + "_1": v for k, v in self.pgbench(mixed, 1, self.secs).items()})
            for what, fn in order[::-1]:
                self.attempt(r, what, fn)

            order = alternatives if r % 2 == 0 else alternatives[::-1]
            for what, fn in order + order[::-1]:
                self.attempt(r, what, fn)

            # the floor method of this round: the faster one so far
            us = {}
            for m in ("vfork", "spawn"):
                vals = self.samples.get("floor_%s_1" % m, [[]] * self.rounds)[r]
                if vals:
                    us[m] = statistics.mean(v["us"] for v in vals)
            method = min(us, key=us.get) if us else "vfork"
            self.floor_method.append(method)
            scaling = [
                ("exec c1", lambda: {"exec_c1": self.pgbench(["exec"], 1, self.a.scaling_seconds)["exec"]}),
                ("exec c2", lambda: {"exec_c2": self.pgbench(["exec"], 2, self.a.scaling_seconds)["exec"]}),
                ("floor p2", lambda: {"floor_p2": self.floor(method, procs=2, secs=fs)}),
                ("floor p1", lambda: {"floor_p1": self.floor(method, procs=1, secs=fs)}),
            ]
            for what, fn in (scaling if r % 2 == 0 else scaling[::-1]):
                self.attempt(r, what, fn)

    # ------------------------------------------------------ 7. sandbox levels

    # execjson.sandbox levels: name -> (sandbox, sandbox_paths).  ok is
    # dynamically linked: the filesystem levels bind its libraries.
    SANDBOX_LEVELS = [
        ("none", "", ""),
        ("processes", "processes", ""),
        ("filesystem", "filesystem", "/usr,/lib,/lib64"),
        ("network", "network", ""),
        ("filesystem_network", "filesystem,network", "/usr,/lib,/lib64"),
    ]

    def pgbench_sandbox(self, sandbox, paths, secs, level):
        """One 1-client pgbench run of exec_run(ok) with execjson.sandbox set
        for the session (PGOPTIONS); every transaction's latency goes to
        self.sandbox_latencies[level]."""
        prefix = os.path.join(self.a.workdir, "sbx_" + level)
        for f in os.listdir(self.a.workdir):
            if f.startswith("sbx_" + level + "."):
                os.unlink(os.path.join(self.a.workdir, f))
        env = dict(os.environ)
        opts = []
        if sandbox:
            opts.append("-c execjson.sandbox=" + sandbox)
        if paths:
            opts.append("-c execjson.sandbox_paths=" + paths)
        env["PGOPTIONS"] = " ".join(opts)
        cmd = [PGBENCH, "-n", "-M", "prepared", "-T", str(secs), "-c", "1",
               "-f", self.scripts["exec"], "-l", "--log-prefix", prefix]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           cwd=self.a.workdir)
        out = p.stdout
        failed = re.search(r"^number of failed transactions: (\d+)", out, re.M)
        tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", out, re.M)
        if p.returncode != 0 or not tps or (failed and int(failed.group(1)) > 0):
            raise RuntimeError("pgbench sandbox=%s failed: %s" % (
                sandbox, (p.stderr or out).strip()[-500:]))
        lat = []
        for f in os.listdir(self.a.workdir):
            if f.startswith("sbx_" + level + "."):
                with open(os.path.join(self.a.workdir, f)) as fh:
                    for line in fh:
                        fields = line.split()
                        if len(fields) >= 3:
                            lat.append(int(fields[2]))
                os.unlink(os.path.join(self.a.workdir, f))
        self.sandbox_latencies.setdefault(level, []).extend(lat)
        rate = float(tps.group(1))
        p50 = statistics.median(lat) if lat else 1e6 / rate
        return {"us": 1e6 / rate, "rate": rate, "p50": p50}

    def sandbox_rounds(self):
        """Each round: the floor, then every sandbox level in a pgbench run
        of its own, ABBA."""
        fs = self.a.floor_seconds
        secs = self.a.sandbox_seconds
        configs = [("floor", lambda: {"sbx_floor": self.floor("vfork", secs=fs / 2)})]
        for level, sandbox, paths in self.SANDBOX_LEVELS:
            def run(level=level, sandbox=sandbox, paths=paths):
                r = self.pgbench_sandbox(sandbox, paths, secs, level)
                return {"sbx_" + level: r,
                        "sbxp50_" + level: {"us": r["p50"], "rate": 1e6 / r["p50"]}}
            configs.append(("sandbox " + level, run))
        for r in range(self.rounds):
            log("sandbox levels, round %d/%d" % (r + 1, self.rounds))
            order = configs if r % 2 == 0 else configs[::-1]
            for what, fn in order + order[::-1]:
                self.attempt(r, what, fn)

    def sandbox_report(self, targets_add):
        """The sandbox targets and rows: each level's cost per call as a
        multiple of the spawn floor, counting only what the level adds to
        exec_run: (exec_run(level) - exec_run(none) + floor) / floor.  The
        targets take exec_run's typical call, the median latency of each
        pgbench run (the machine is shared: a mean takes in every stall of
        the neighbours); the ratio of the means is reported too."""
        v = self.v
        rows = []
        self.results["sandbox"] = {}
        for level, sandbox, paths in self.SANDBOX_LEVELS:
            lat = sorted(self.sandbox_latencies.get(level, []))
            pct = {}
            for q in (50, 99):
                pct["p%d_us" % q] = lat[min(len(lat) - 1, int(len(lat) * q / 100))] if lat else None
            spawn_ratio = self.per_round(
                lambda r: (v("sbxp50_" + level, r) - v("sbxp50_none", r) + v("sbx_floor", r))
                / v("sbx_floor", r))
            mean_ratio = self.per_round(
                lambda r: (v("sbx_" + level, r) - v("sbx_none", r) + v("sbx_floor", r))
                / v("sbx_floor", r))
            call_ratio = self.per_round(lambda r: v("sbx_" + level, r) / v("sbx_none", r))
            self.results["sandbox"][level] = dict(
                pct, transactions=len(lat), spawn_ratio_per_round=spawn_ratio,
                spawn_ratio=median(spawn_ratio), spawn_ratio_of_means=median(mean_ratio),
                call_ratio=median(call_ratio))
            rows.append((level, pct, median(spawn_ratio), median(mean_ratio),
                         median(call_ratio)))
        for level, limit in (("processes", 1.35), ("filesystem", 2.0)):
            targets_add("sandbox_" + level,
                        self.results["sandbox"][level]["spawn_ratio_per_round"], "<=", limit,
                        "(exec_run p50 µs with sandbox=%s - p50 without + floor µs) / floor µs"
                        % level)
        return rows

    # ------------------------------------------------ 9. pg_stat_execjson

    def stats_rounds(self):
        """Each round, one pgbench run (1 client) mixing at random the
        trivial call with execjson.stats_track on and off (and the same
        with the program without libc, where the call is 5 times cheaper and
        the recording a larger share); per-transaction medians."""
        mixed = ["stats_on", "stats_off"]
        if self.a.lean:
            mixed += ["stats_on_lean", "stats_off_lean"]
        for r in range(self.rounds):
            log("pg_stat_execjson on/off, round %d/%d" % (r + 1, self.rounds))
            self.attempt(r, "pgbench stats on/off", lambda: {
                k + "_1": v for k, v in self.pgbench_medians(mixed, self.a.stats_seconds).items()})
        psql("SELECT pg_stat_execjson_reset();")

    # ------------------------------------------------ 3. 512 MB of private memory

    def memory_rounds(self):
        log("512 MB backend: filling a temp table")
        big = Session()
        small = Session()
        try:
            mb = self.a.private_mb
            rows = mb * 1024 * 1024 // 8192 * 7     # 7 rows of ~1 kB per page
            big.run("SET temp_buffers = '%dMB';" % (mb + 128))
            out = big.run(
                "CREATE TEMP TABLE filler AS SELECT rpad('', 1000, md5(i::text)) AS pad"
                " FROM generate_series(1, %d) i;"
                " SELECT pg_size_pretty(pg_table_size('filler'));" % rows)
            self.results["private_memory"] = {
                "big_backend": {"pid": big.pid, "table_size": out[-1] if out else None,
                                **rss_kb(big.pid)},
            }
            for s in (big, small):
                s.run("SELECT bench_exec(20);")     # warm up
            self.results["private_memory"]["plain_backend"] = {
                "pid": small.pid, **rss_kb(small.pid)}
            n = self.a.loop_calls
            configs = [("mem_big", big), ("mem_plain", small)]
            for r in range(self.rounds):
                log("512 MB backend, round %d/%d" % (r + 1, self.rounds))
                order = configs if r % 2 == 0 else configs[::-1]
                for name, s in order + order[::-1]:          # ABBA
                    self.attempt(r, name, lambda s=s, name=name: {
                        name: self._loop(s, "bench_exec(%d)" % n)})
            self.results["private_memory"]["big_backend_after"] = rss_kb(big.pid)
        finally:
            big.close()
            small.close()

    # ------------------------------------------------------- 4. 1 MiB round trip

    def mib_rounds(self):
        s = Session()
        try:
            path = sql_lit(self.doc_path)
            s.run("SELECT bench_1mib_exec(2, %s), bench_1mib_sql(2, %s);" % (path, path))
            n = self.a.mib_calls
            fs = self.a.floor_seconds / 4
            configs = [
                ("mib_exec", lambda: {"mib_exec": self._loop(s, "bench_1mib_exec(%d, %s)" % (n, path))}),
                ("mib_floor_vfork", lambda: {"mib_floor_vfork": self.floor("vfork", echo=True, secs=fs)}),
                ("mib_floor_spawn", lambda: {"mib_floor_spawn": self.floor("spawn", echo=True, secs=fs)}),
                ("mib_sql", lambda: {"mib_sql": self._loop(s, "bench_1mib_sql(%d, %s)" % (n, path))}),
            ]
            for r in range(self.rounds):
                log("1 MiB round trip, round %d/%d" % (r + 1, self.rounds))
                order = configs if r % 2 == 0 else configs[::-1]
                for what, fn in order + order[::-1]:        # ABBA
                    self.attempt(r, what, fn)
        finally:
            s.close()

    @staticmethod
    def _loop(s, call):
        out = s.run("SELECT %s;" % call)
        try:
            us = float(out[-1])
        except (IndexError, ValueError):
            raise RuntimeError(" ".join(out)[-300:])
        return {"us": us, "rate": 1e6 / us}

    # ------------------------------------------------------------ 7. batches

    def batch_rounds(self):
        """A batch of N trivial requests ("ok" with {"x": 1} on stdin):
        exec_try_many at max_parallel 1, 2 and 16, and exec_try over the
        same N rows one after the other, in one session; the floor with 2
        processes (the machine's 2-process spawn rate) in between.  ABBA,
        every round."""
        n = self.a.batch_size
        ok_req = json.dumps({"kind": "run_program_v1", "program_path": self.ok,
                             "stdin_json": {"x": 1}})
        psql(f"""
DROP TABLE IF EXISTS batch_reqs;
CREATE UNLOGGED TABLE batch_reqs AS
  SELECT {sql_lit(ok_req)}::jsonb AS r FROM generate_series(1, {n});
-- µs per request of one exec_try_many statement over the rows
CREATE OR REPLACE FUNCTION bench_batch(p int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
  good int;
  total int;
BEGIN
  SELECT count(*) FILTER (WHERE b.result->>'ok' = 'true'), count(*) INTO good, total
  FROM exec_try_many(ARRAY(SELECT r FROM batch_reqs), p) b;
  IF good <> {n} OR total <> {n} THEN
    RAISE EXCEPTION 'batch: % of % ok', good, total;
  END IF;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / {n};
END $$;
-- µs per request of one statement calling exec_try on each row
CREATE OR REPLACE FUNCTION bench_seq() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
  good int;
BEGIN
  SELECT count(*) FILTER (WHERE x->>'ok' = 'true') INTO good
  FROM (SELECT exec_try(r) AS x FROM batch_reqs) s;
  IF good <> {n} THEN
    RAISE EXCEPTION 'sequential: % of % ok', good, {n};
  END IF;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / {n};
END $$;
""")
        s = Session()
        try:
            s.run("SET execjson.max_parallel = 64;")
            s.run("SELECT bench_batch(2), bench_seq();")      # warm up
            fs = self.a.floor_seconds
            configs = [
                ("batch_p1", lambda: {"batch_p1": self._loop(s, "bench_batch(1)")}),
                ("batch_p2", lambda: {"batch_p2": self._loop(s, "bench_batch(2)")}),
                ("batch_p16", lambda: {"batch_p16": self._loop(s, "bench_batch(16)")}),
                ("batch_seq", lambda: {"batch_seq": self._loop(s, "bench_seq()")}),
                ("batch_floor_p2", lambda: {"batch_floor_p2": self.floor(
                    self.floor_method[-1] if self.floor_method else "vfork", procs=2, secs=fs)}),
            ]
            for r in range(self.rounds):
                log("batch of %d, round %d/%d" % (n, r + 1, self.rounds))
                order = configs if r % 2 == 0 else configs[::-1]
                for what, fn in order + order[::-1]:        # ABBA
                    self.attempt(r, what, fn)
        finally:
            s.close()

    # ---------------------------------------------- 5. cancel and timeout

    def cancel_and_timeout(self):
        log("cancel: %d tries" % self.a.tries)
        victim = Session()
        canceller = Session()
        delays, leftovers, problems = [], 0, []
        req = json.dumps({"kind": "run_program_v1", "program_path": self.xjtool,
                          "argv": ["sleep", "10000"], "timeout_ms": 60000})
        do = ("DO $$ BEGIN PERFORM exec_run(%s); RAISE NOTICE 'not canceled';"
              " EXCEPTION WHEN query_canceled THEN"
              " RAISE NOTICE 'canceled_at %%', extract(epoch FROM clock_timestamp());"
              " END $$;" % sql_lit(req))
        try:
            for i in range(self.a.tries):
                victim.send(do)
                # wait until the backend waits for its program
                deadline = time.time() + 10
                while True:
                    out = canceller.run(
                        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %d;"
                        % victim.pid)
                    if out and out[0] == "Extension":
                        break
                    if time.time() > deadline:
                        raise RuntimeError("victim never waited: %r" % out)
                    time.sleep(0.001)
                time.sleep(random.uniform(0.001, 0.005))
                out = canceller.run(
                    "SELECT extract(epoch FROM clock_timestamp()), pg_cancel_backend(%d);"
                    % victim.pid)
                t0 = float(out[0].split("|")[0])
                lines = victim.collect()
                m = [re.search(r"canceled_at ([0-9.]+)", l) for l in lines]
                m = [x for x in m if x]
                if not m:
                    problems.append(" / ".join(lines))
                    continue
                delays.append((float(m[0].group(1)) - t0) * 1000)
                leftovers += len(children(victim.pid))
        finally:
            victim.close()
            canceller.close()

        log("timeout overshoot: %d tries" % self.a.tries)
        out = psql("SELECT bench_timeout(%d, %d);" % (self.a.tries, self.a.timeout_ms))
        overshoot = [float(x) for x in out.split()]
        self.results["cancel"] = {
            "tries": self.a.tries, "delays_ms": delays,
            "median_ms": median(delays), "max_ms": max(delays) if delays else None,
            "children_left_after_cancel": leftovers, "problems": problems,
        }
        self.results["timeout"] = {
            "tries": self.a.tries, "timeout_ms": self.a.timeout_ms,
            "overshoot_ms": overshoot, "median_ms": median(overshoot),
            "max_ms": max(overshoot) if overshoot else None,
        }

    # ------------------------------------------------------------ report

    def per_round(self, fn):
        """fn(round index) -> value or None; the list over the rounds."""
        out = []
        for r in range(self.rounds):
            try:
                out.append(fn(r))
            except (TypeError, KeyError, ZeroDivisionError):
                out.append(None)
        return out

    def v(self, name, r, key="us"):
        x = self.raw.get(name, [None] * self.rounds)[r]
        return None if x is None else x[key]

    def best_of(self, r, names):
        """The fastest (lowest µs/call) of names in round r, or None."""
        xs = [self.raw.get(n, [None] * self.rounds)[r] for n in names]
        xs = [x for x in xs if x is not None]
        return min(xs, key=lambda x: x["us"]) if xs else None

    def report(self, started, elapsed, outfile):
        R = range(self.rounds)
        self.finish_samples()
        # derived per-round series: the faster floor method
        self.raw["floor_best_1"] = [self.best_of(r, ["floor_vfork_1", "floor_spawn_1"]) for r in R]
        self.raw["mib_floor_echo"] = [self.best_of(r, ["mib_floor_vfork", "mib_floor_spawn"])
                                      for r in R]
        floor1 = self.raw["floor_best_1"]

        v = self.v
        targets = []

        def target(name, series, op, limit, desc):
            med = median(series)
            ok = None if med is None else (med <= limit if op == "<=" else med >= limit)
            targets.append({"target": name, "description": desc,
                            "per_round": series, "median": med,
                            "op": op, "limit": limit, "pass": ok})

        target("trivial_call",
               self.per_round(lambda r: v("exec_1", r) / (floor1[r]["us"] + v("qfloor_1", r))),
               "<=", 1.15, "exec_run µs/call / (floor µs/call + query-floor µs/call), 1 client")
        target("vs_plpython3u",
               self.per_round(lambda r: v("exec_solo", r, "rate") / v("plpy_1", r, "rate")),
               ">=", 1.5, "exec_run calls/s / plpython3u subprocess.run calls/s (no timeout=)")
        target("vs_copy_from_program",
               self.per_round(lambda r: v("exec_solo", r, "rate") / v("copy_1", r, "rate")),
               ">=", 3.0, "exec_run calls/s / COPY FROM PROGRAM calls/s")
        target("vs_plsh",
               self.per_round(lambda r: v("exec_solo", r, "rate") / v("plsh_1", r, "rate")),
               ">=", 5.0, "exec_run calls/s / PL/sh calls/s")
        exec_scaling = self.per_round(lambda r: v("exec_c2", r, "rate") / v("exec_c1", r, "rate"))
        floor_scaling = self.per_round(lambda r: v("floor_p2", r, "rate") / v("floor_p1", r, "rate"))
        self.results["scaling"] = {"exec_run_2c_over_1c": exec_scaling,
                                   "floor_2p_over_1p": floor_scaling,
                                   "floor_method": self.floor_method}
        target("two_clients",
               self.per_round(lambda r: exec_scaling[r] / floor_scaling[r]),
               ">=", 0.9, "exec_run 2-client/1-client rate ratio / floor 2-process/1-process ratio")
        target("private_memory_512mb",
               self.per_round(lambda r: v("mem_big", r, "rate") / v("mem_plain", r, "rate")),
               ">=", 0.9, "exec_run calls/s in a backend with 512 MB private memory / without")
        target("one_mib_round_trip",
               self.per_round(lambda r: v("mib_exec", r) /
                              (self.raw["mib_floor_echo"][r]["us"] + v("mib_sql", r))),
               "<=", 1.3, "exec_run(xjtool echo, 1 MiB) µs / (floor echo µs + SELECT doc::jsonb::text µs)")
        sandbox_rows = self.sandbox_report(target) if self.a.sandbox_seconds > 0 else []
        if self.a.lean:
            lean_ratio = self.per_round(
                lambda r: v("exec_lean_1", r) / (v("floor_lean_1", r) + v("qfloor_1", r)))
            self.results["diagnostic"] = {
                "lean_ratio_per_round": lean_ratio,
                "lean_ratio": median(lean_ratio),
                "lean_overhead_us": median(self.per_round(
                    lambda r: v("exec_lean_1", r) - v("floor_lean_1", r) - v("qfloor_1", r))),
                "lean_vs_plpy": median(self.per_round(
                    lambda r: v("exec_lean_solo", r, "rate") / v("plpy_lean_1", r, "rate"))),
                "startup_us": median(self.per_round(
                    lambda r: floor1[r]["us"] - v("floor_lean_1", r))),
            }
        if self.a.lean:
            target("exec_run_overhead_us",
                   self.per_round(lambda r: v("exec_lean_1", r) - v("floor_lean_1", r)
                                  - v("qfloor_1", r)),
                   "<=", 50, "exec_run(lean) µs - (lean floor µs + query-floor µs): exec_run's own overhead")
        target("batch_p2_vs_floor_p2",
               self.per_round(lambda r: v("batch_p2", r, "rate") / v("batch_floor_p2", r, "rate")),
               ">=", 0.85, "exec_try_many(%d, max_parallel 2) requests/s / floor 2-process calls/s"
               % self.a.batch_size)
        target("batch_p2_vs_sequential",
               self.per_round(lambda r: v("batch_p2", r, "rate") / v("batch_seq", r, "rate")),
               ">=", 1.6, "exec_try_many(max_parallel 2) requests/s / exec_try over the same rows")
        target("batch_p16_vs_p2",
               self.per_round(lambda r: v("batch_p16", r, "rate") / v("batch_p2", r, "rate")),
               ">=", 0.9, "exec_try_many max_parallel 16 / max_parallel 2 (no thrashing)")
        target("stats_recording",
               self.per_round(lambda r: v("stats_on_1", r) / v("stats_off_1", r)),
               "<=", 1.03, "exec_run(ok) median µs/call with execjson.stats_track on / off, 1 client")
        self.results["stats"] = {
            "extra_us": median(self.per_round(
                lambda r: v("stats_on_1", r) - v("stats_off_1", r))),
        }
        if self.a.lean:
            self.results["stats_lean"] = {
                "ratio_per_round": self.per_round(
                    lambda r: v("stats_on_lean_1", r) / v("stats_off_lean_1", r)),
                "extra_us": median(self.per_round(
                    lambda r: v("stats_on_lean_1", r) - v("stats_off_lean_1", r))),
            }
        c = self.results.get("cancel", {})
        t = self.results.get("timeout", {})
        for name, val, limit, desc in (
                ("cancel_median_ms", c.get("median_ms"), 5, "pg_cancel_backend -> error, median ms"),
                ("cancel_max_ms", c.get("max_ms"), 50, "pg_cancel_backend -> error, max ms"),
                ("timeout_overshoot_median_ms", t.get("median_ms"), 5,
                 "exec_timeout arrival past timeout_ms, median ms")):
            targets.append({"target": name, "description": desc, "median": val,
                            "op": "<=", "limit": limit,
                            "pass": None if val is None else val <= limit})

        # ------------------------------------------------------ the table
        lines = []
        P = lines.append
        P("")
        P("execjson bench -- %s, %d rounds, %d CPUs, load average %s -> %s"
          % (started, self.rounds, os.cpu_count(), self.load_start,
             " ".join(open("/proc/loadavg").read().split()[:3])))
        P("")
        P("%-58s %12s %10s   %s" % ("measurement (median over rounds)", "us/call", "calls/s",
                                    "calls/s min..max"))
        P("-" * 100)

        def row(label, name, note=""):
            xs = [x for x in self.raw.get(name, []) if x is not None]
            if not xs:
                P("%-58s %12s %10s   %s" % (label, "-", "-", "not measured"))
                return
            us = median([x["us"] for x in xs])
            rates = [x["rate"] for x in xs]
            P("%-58s %12.1f %10.1f   %.1f..%.1f%s" % (label, us, median(rates), min(rates),
                                                    max(rates), note))

        P("1. floor, outside PostgreSQL: ok with {\"x\":1} on stdin (%gs per run, twice a round)"
          % (self.a.floor_seconds / 2))
        row("   vfork+execve, 1 process", "floor_vfork_1")
        row("   posix_spawn, 1 process", "floor_spawn_1")
        row("   the faster of the two, 1 process  = the floor", "floor_best_1")
        P("2. pgbench -M prepared, 1 client")
        P("   exec_run and the query floor mixed at random per transaction in one %ds run,"
          % self.secs)
        P("   between the floor runs of 1.")
        row("   SELECT exec_run(ok)", "exec_1")
        row("   SELECT '{\"ok\": true}'::jsonb  (query floor)", "qfloor_1")
        P("   the other ways, each in a %ds run of its own, ABBA with exec_run alone" % self.a.alt_seconds)
        row("   SELECT exec_run(ok), alone", "exec_solo")
        row("   COPY ... FROM PROGRAM 'echo ... | ok'", "copy_1")
        row("   PL/sh function (printf | ok)", "plsh_1")
        row("   plpython3u subprocess.run", "plpy_1")
        row("   plpython3u subprocess.run(timeout=300)", "plpy_timeout_1")
        P("   scaling, back to back (%ds pgbench runs, %gs floor runs; floor method per round: %s)"
          % (self.a.scaling_seconds, self.a.floor_seconds, " ".join(self.floor_method)))
        row("   SELECT exec_run(ok), 1 client", "exec_c1")
        row("   SELECT exec_run(ok), 2 clients (total rate)", "exec_c2")
        row("   floor, 1 process", "floor_p1")
        row("   floor, 2 processes (total rate)", "floor_p2")
        P("3. plpgsql loop of %d exec_run(ok) calls, twice a round in each backend (ABBA)"
          % self.a.loop_calls)
        pm = self.results.get("private_memory", {})
        bb = pm.get("big_backend", {})
        row("   backend with ~%d MB private memory (RssAnon %s MB)"
            % (self.a.private_mb, bb.get("RssAnon", 0) // 1024), "mem_big")
        row("   plain backend (RssAnon %s MB)"
            % (pm.get("plain_backend", {}).get("RssAnon", 0) // 1024), "mem_plain")
        P("4. 1 MiB round trip: %d bytes of JSON on stdin, echoed back (ABBA; loops of %d calls)"
          % (self.doc_len, self.a.mib_calls))
        row("   exec_run(xjtool echo)::text, plpgsql loop", "mib_exec")
        row("   floor: vfork+execve xjtool echo (poll)", "mib_floor_vfork")
        row("   floor: posix_spawn xjtool echo (poll)", "mib_floor_spawn")
        row("   SELECT doc::jsonb::text, plpgsql loop", "mib_sql")
        P("5. cancel and timeout (%d tries each)" % self.a.tries)
        if c:
            P("   pg_cancel_backend -> query_canceled: median %.2f ms, max %.2f ms%s"
              % (c["median_ms"] or -1, c["max_ms"] or -1,
                 "" if not c["problems"] else ", %d tries without a cancel" % len(c["problems"])))
            P("   children of the backend left after a cancel: %d" % c["children_left_after_cancel"])
        if t:
            P("   timeout_ms=%d -> exec_timeout: overshoot median %.2f ms, max %.2f ms"
              % (t["timeout_ms"], t["median_ms"], t["max_ms"]))
        if self.a.lean:
            P("6. diagnostic: ok without libc (test/bench/lean.c), same call")
            row("   floor: vfork+execve, 1 process", "floor_lean_1")
            row("   SELECT exec_run(lean), in the mix of 2.", "exec_lean_1")
            row("   SELECT exec_run(lean), alone", "exec_lean_solo")
            row("   plpython3u subprocess.run(lean), alone", "plpy_lean_1")
            d = self.results.get("diagnostic", {})
            P("   program start-up share of the ok floor (ok - lean): median %s us"
              % ("-" if d.get("startup_us") is None else "%.0f" % d["startup_us"]))
            P("   exec_run(lean) / (lean floor + query floor): median %s  rounds: %s"
              % ("-" if d.get("lean_ratio") is None else "%.3f" % d["lean_ratio"],
                 " ".join("-" if x is None else "%.2f" % x for x in d.get("lean_ratio_per_round", []))))
            P("   exec_run(lean) - (lean floor + query floor): median %s us"
              % ("-" if d.get("lean_overhead_us") is None else "%.0f" % d["lean_overhead_us"]))
            P("   exec_run(lean) calls/s / plpython3u(lean) calls/s: median %s"
              % ("-" if d.get("lean_vs_plpy") is None else "%.2f" % d["lean_vs_plpy"]))
        P("7. a batch of %d trivial requests (ok), one statement each, ABBA in one session"
          % self.a.batch_size)
        row("   exec_try_many(reqs, 1)", "batch_p1")
        row("   exec_try_many(reqs, 2)", "batch_p2")
        row("   exec_try_many(reqs, 16)", "batch_p16")
        row("   SELECT exec_try(r) FROM the same rows (sequential)", "batch_seq")
        row("   floor, 2 processes (total rate)", "batch_floor_p2")
        if sandbox_rows:
            P("8. execjson.sandbox levels (1-client pgbench run each, ABBA; ok, dynamically linked)")
            row("   floor: vfork+execve ok, outside PostgreSQL", "sbx_floor")
            for level, pct, spawn_ratio, mean_ratio, call_ratio in sandbox_rows:
                row("   exec_run, sandbox %s" % level, "sbx_" + level)
                P("      p50 %s us, p99 %s us; x floor (spawn cost): %s by p50, %s by means;"
                  " x exec_run without %s"
                  % tuple("-" if x is None else ("%.0f" % x if i < 2 else "%.2f" % x)
                          for i, x in enumerate((pct["p50_us"], pct["p99_us"],
                                                 spawn_ratio, mean_ratio, call_ratio))))
        P("9. pg_stat_execjson: execjson.stats_track on and off mixed at random in one %ds"
          % self.a.stats_seconds)
        P("   pgbench run a round (each: SELECT set_config(...), exec_run(...)); median latencies")
        row("   exec_run(ok), stats on", "stats_on_1")
        row("   exec_run(ok), stats off", "stats_off_1")
        st = self.results.get("stats", {})
        P("   ok: on - off: median %s us"
          % ("-" if st.get("extra_us") is None else "%.1f" % st["extra_us"]))
        if self.a.lean:
            row("   exec_run(lean), stats on", "stats_on_lean_1")
            row("   exec_run(lean), stats off", "stats_off_lean_1")
            sl = self.results.get("stats_lean", {})
            P("   lean: on / off per round: %s; on - off: median %s us"
              % (" ".join("-" if x is None else "%.3f" % x for x in sl.get("ratio_per_round", [])),
                 "-" if sl.get("extra_us") is None else "%.1f" % sl["extra_us"]))
        P("")
        P("targets (median of the per-round ratios)")
        P("-" * 100)
        for tg in targets:
            status = {True: "PASS", False: "FAIL", None: "N/A "}[tg["pass"]]
            med = tg["median"]
            if "per_round" in tg:
                rounds = " ".join("-" if x is None else "%.2f" % x for x in tg["per_round"])
                P("[%s] %-28s %6s %s %-5g  rounds: %s" % (
                    status, tg["target"], "-" if med is None else "%.3f" % med,
                    tg["op"], tg["limit"], rounds))
            else:
                P("[%s] %-28s %6s %s %-5g" % (
                    status, tg["target"], "-" if med is None else "%.2f" % med,
                    tg["op"], tg["limit"]))
            P("       %s" % tg["description"])
        if self.errors:
            P("")
            P("errors:")
            for e in self.errors:
                P("   " + e)
        P("")
        P("total %.0f s; results in %s" % (elapsed, outfile))
        text = "\n".join(lines)
        print(text, flush=True)
        return targets, text

    def run(self):
        started = datetime.datetime.now(datetime.timezone.utc)
        t0 = time.time()
        self.load_start = " ".join(open("/proc/loadavg").read().split()[:3])
        so = self.a.so
        so_mtime = os.path.getmtime(so) if so and os.path.exists(so) else None
        self.setup()
        only = "sandbox" if self.a.only_sandbox else self.a.only
        if only in (None, "batch"):
            self.trivial_rounds()
        if only is None:
            self.memory_rounds()
            self.mib_rounds()
        if only in (None, "batch"):
            self.batch_rounds()
        if only is None:
            self.cancel_and_timeout()
        if self.a.sandbox_seconds > 0 and only in (None, "sandbox"):
            self.sandbox_rounds()
        if only in (None, "stats"):
            self.stats_rounds()
        if so_mtime is not None and os.path.getmtime(so) != so_mtime:
            self.errors.append("execjson.so was reinstalled during the run: figures may mix builds")
        elapsed = time.time() - t0 + self.a.setup_seconds
        os.makedirs(self.a.results_dir, exist_ok=True)
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        outfile = os.path.join(self.a.results_dir, stamp + ".json")
        targets, text = self.report(started.isoformat(timespec="seconds"), elapsed, outfile)
        git = subprocess.run(["git", "-C", self.a.srcdir, "describe", "--always", "--dirty"],
                             capture_output=True, text=True).stdout.strip()
        doc = {
            "started": started.isoformat(timespec="seconds"),
            "total_seconds": round(elapsed, 1),
            "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                        "load_start": self.load_start,
                        "load_end": " ".join(open("/proc/loadavg").read().split()[:3])},
            "git": git,
            "server_version": psql("SHOW server_version;").strip(),
            "parameters": {k: v for k, v in vars(self.a).items()},
            "doc_bytes_on_stdin": self.doc_len,
            "load_per_round": self.load_per_round,
            "raw_per_round": self.raw,
            "results": self.results,
            "targets": targets,
            "errors": self.errors,
            "table": text,
        }
        with open(outfile, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--floor", required=True, help="the floor program")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--test-dir", default="/tmp/execjson-test")
    ap.add_argument("--results-dir", required=True)
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("--so", default=None, help="installed execjson.so, watched for reinstalls")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 10)))
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 4)),
                    help="the 1-client pgbench run mixing exec_run and the query floor")
    ap.add_argument("--alt-seconds", type=int, default=1,
                    help="each pgbench run of the other ways to run a program")
    ap.add_argument("--scaling-seconds", type=int, default=2,
                    help="each exec_run 1-client / 2-client pgbench run")
    ap.add_argument("--stats-seconds", type=int, default=3,
                    help="each pgbench run of stats on/off")
    ap.add_argument("--only", default=os.environ.get("BENCH_ONLY"),
                    help="'stats': measure only pg_stat_execjson's cost; 'batch': only "
                    "the trivial call, exec_run's own overhead and the batches")
    ap.add_argument("--floor-seconds", type=float, default=1.0)
    ap.add_argument("--loop-calls", type=int, default=150)
    ap.add_argument("--mib-calls", type=int, default=8)
    ap.add_argument("--doc-bytes", type=int, default=1000000)
    ap.add_argument("--private-mb", type=int, default=512)
    ap.add_argument("--tries", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=2000,
                    help="requests in each batch of 7.")
    ap.add_argument("--timeout-ms", type=int, default=20)
    ap.add_argument("--sandbox-seconds", type=int,
                    default=int(os.environ.get("BENCH_SANDBOX_SECONDS", 1)),
                    help="each pgbench run of a sandbox level (0: none)")
    ap.add_argument("--only-sandbox", action="store_true",
                    default=bool(os.environ.get("BENCH_ONLY_SANDBOX")),
                    help="measure only the floor and the sandbox levels")
    ap.add_argument("--lean", default=None,
                    help="ok without libc (diagnostic: program start-up cost)")
    ap.add_argument("--setup-seconds", type=float, default=0.0,
                    help="time run-bench.sh spent before this script, for the total")
    a = ap.parse_args()
    return Bench(a).run()


if __name__ == "__main__":
    sys.exit(main())
