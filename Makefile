# execjson -- run allow-listed programs from SQL, get JSON back

MODULE_big = execjson
OBJS = \
	src/batch.o \
	src/errors.o \
	src/execjson.o \
	src/guc.o \
	src/jsontext.o \
	src/policy.o \
	src/request.o \
	src/sandbox.o \
	src/spawn.o \
	src/stats.o \
	src/wait.o

EXTENSION = execjson
DATA = sql/execjson--1.0.sql sql/execjson--1.0--1.1.sql sql/execjson--1.1--1.2.sql
PGFILEDESC = "execjson - run allow-listed programs from SQL"

# pg_regress tests: sql/*.sql against expected/*.out.  They run the test
# programs installed by `make install-test-programs`.
REGRESS = request policy env_policy limits exit_status encoding privileges exec_try resource_limits sandbox batch upgrade stats

# make test runs the suite a second time on a server configured with
# execjson.sandbox = 'filesystem,network' (`make installcheck-sandbox`):
# every test but those whose output differs by design when the program is
# pid 1 of a pid namespace, which ignores the signals it sends itself
# (kill, SIGXCPU, SIGXFSZ: see the README's Sandbox section).
REGRESS_SANDBOX = $(filter-out exit_status exec_try resource_limits batch,$(REGRESS))

# TAP tests (process-level behaviour) live in test/t.
TAP_TESTS = 1

# -Wno-unused-parameter: PostgreSQL's own headers (and its hook signatures)
# have unused parameters.
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter

# Where the test programs go: readable by the server's OS user.
EXECJSON_TEST_DIR ?= /tmp/execjson-test
TEST_PROGRAMS = test/programs/xjtool test/programs/ok test/programs/ids \
	test/programs/swapshim.so test/programs/nosetattr.so \
	test/programs/cloneshim.so
EXTRA_CLEAN = $(TEST_PROGRAMS) test/bench/floor

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)

# Every object is rebuilt when a header changes (PGXS tracks no header
# dependencies unless the server was configured with --enable-depend).
$(OBJS): $(wildcard src/*.h)

# The TAP tests are in test/t, not t (as pgvector does).
define prove_installcheck
rm -rf '$(CURDIR)'/tmp_check && \
$(MKDIR_P) '$(CURDIR)'/tmp_check && \
cd $(srcdir) && \
   TESTDIR='$(CURDIR)' TESTDATADIR='$(CURDIR)/tmp_check' \
   TESTLOGDIR='$(CURDIR)/tmp_check/log' PATH="$(bindir):$(CURDIR):$$PATH" \
   PGPORT='6$(DEF_PGPORT)' EXECJSON_TEST_DIR='$(EXECJSON_TEST_DIR)' \
   PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' \
   $(PROVE) $(PG_PROVE_FLAGS) -I test/perl $(PROVE_FLAGS) $(if $(PROVE_TESTS),$(PROVE_TESTS),test/t/*.pl)
endef

installcheck-sandbox:
	$(pg_regress_installcheck) --outputdir=sandbox_check $(REGRESS_OPTS) $(REGRESS_SANDBOX)
else
all install installcheck:
	@echo "pg_config not found: install postgresql-server-dev-NN (or run 'make demo' or 'make test', which install what they need)" >&2
	@exit 1
endif

.PHONY: installcheck-sandbox test-programs install-test-programs lint demo test test-matrix bench

# Static analysis of our own C code (PostgreSQL's headers excluded).
lint:
	cppcheck --quiet --error-exitcode=1 --inline-suppr \
		--enable=warning,style,performance,portability --std=c99 \
		-D__linux__ -DPG_VERSION_NUM=$(VERSION_NUM) \
		-I $(shell $(PG_CONFIG) --includedir-server) -I src \
		--suppress=missingIncludeSystem --suppress='*:/usr/include/*' \
		src/*.c test/programs/*.c $(wildcard test/bench/*.c)

test-programs: $(TEST_PROGRAMS)

test/programs/%.so: test/programs/%.c
	$(CC) -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl

test/programs/%: test/programs/%.c
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

install-test-programs: test-programs
	test/install-test-programs.sh '$(EXECJSON_TEST_DIR)'

# From a fresh Debian 12 machine, as root: install what is missing, build,
# and run everything against throwaway clusters.
test:
	bash test/run-tests.sh

# The same suite on PostgreSQL 13, 17 and 18, each in a Debian chroot.
test-matrix:
	bash test/matrix/run-matrix.sh

demo:
	bash test/demo.sh

bench:
	bash test/bench/run-bench.sh

.PHONY: deb test-package check-meta

# The Debian package postgresql-NN-execjson, in build/deb/ (as root, on
# Debian: installs the build dependencies; see debian/).
deb:
	bash test/package/build-deb.sh

# make deb, then install only that .deb in a fresh Debian 12 chroot, run the
# regression suite against it and purge it.
test-package:
	bash test/package/run-package-test.sh

# META.json is well-formed and its version agrees with execjson.control and
# debian/changelog (make test runs it too).
check-meta:
	perl test/package/check-meta.pl
