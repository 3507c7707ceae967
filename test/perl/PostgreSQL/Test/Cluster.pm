# PostgreSQL::Test::Cluster for PostgreSQL releases whose TAP modules have
# only the pre-15 name, PostgresNode (13 and 14 before their 2022 minor
# releases, which ship a PostgreSQL::Test::Cluster of their own).
#
# Found only through "prove -I test/perl", which comes after PGXS's
# "-I .../src/test/perl": where the real module exists, it wins.
#
# Unlike the upstream back-branch alias, this is a subclass, because the
# PostgresNode of those releases has no release-15 new(NAME, %PARAMS):
# new() with a name (and parameters) goes through get_new_node(), which in
# turn calls new(NAME, HOST, PORT), the old low-level constructor.

package PostgreSQL::Test::Cluster;

use strict;
use warnings;

use PostgresNode;

our @ISA = ('PostgresNode');

sub new
{
	my ($class, $name, @rest) = @_;

	# get_new_node's own call: new(NAME, HOST, PORT).
	return $class->SUPER::new($name, @rest)
	  if @rest == 2 && defined $rest[1] && $rest[1] =~ /^\d+$/;

	# The release-15 form: new(NAME, %PARAMS).
	return PostgresNode::get_new_node($class, $name, @rest);
}

1;
