# PostgreSQL::Test::Utils for PostgreSQL releases whose TAP modules have
# only the pre-15 name, TestLib (see Cluster.pm beside this file).  The
# same alias as upstream's back-branch module: this package is TestLib, so
# "use PostgreSQL::Test::Utils" exports what TestLib exports, and
# $PostgreSQL::Test::Utils::windows_os and the like are TestLib's.

package PostgreSQL::Test::Utils;

use strict;
use warnings;

use TestLib;

BEGIN
{
	*PostgreSQL::Test::Utils:: = \*TestLib::;
}

# 15's default timeout for the tests' waits (TestLib had none).
$TestLib::timeout_default = $ENV{PG_TEST_TIMEOUT_DEFAULT} || 180
  unless defined $TestLib::timeout_default;

1;
