#!/usr/bin/perl
# check-meta.pl [SRCDIR] -- `make check-meta`, also run by `make test`:
# META.json (PGXN, meta-spec 1.0.0) is well-formed JSON with the keys PGXN
# requires, and the release's version is the same everywhere:
#
#   META.json "version" and provides.execjson.version   (semver: 1.2.0)
#   execjson.control default_version                    (1.2)
#   debian/changelog, its first entry                    (1.2, or 1.2-N)
#
# "1.2" and "1.2.0" are the same version: PGXN requires three parts.
# Exits non-zero, naming each disagreement, if any check fails.
use strict;
use warnings;
use JSON::PP;

my $src = shift // '.';
my @fail;
sub fail { push @fail, join('', @_); }

sub slurp
{
	my ($f) = @_;
	open my $fh, '<', "$src/$f" or die "check-meta: cannot read $f: $!\n";
	local $/;
	return scalar <$fh>;
}

# norm V -- a version as three numeric parts ("1.2" -> "1.2.0").
sub norm
{
	my ($v) = @_;
	return undef unless defined $v && $v =~ /^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/;
	return join '.', $1 + 0, ($2 // 0) + 0, ($3 // 0) + 0;
}

my $meta = eval { JSON::PP->new->relaxed(0)->decode(slurp('META.json')) };
if (!$meta)
{
	print "check-meta: META.json is not valid JSON: $@";
	exit 1;
}
ref $meta eq 'HASH' or do { print "check-meta: META.json is not an object\n"; exit 1 };

for my $k (qw(name abstract maintainer license provides version meta-spec))
{
	fail("META.json: missing required key \"$k\"") unless exists $meta->{$k};
}
fail('META.json: meta-spec.version is not 1.0.0')
  unless ref $meta->{'meta-spec'} eq 'HASH' && ($meta->{'meta-spec'}{version} // '') eq '1.0.0';
fail('META.json: name is not "execjson"') unless ($meta->{name} // '') eq 'execjson';

my $semver = qr/^\d+\.\d+\.\d+$/;
my $mver = $meta->{version} // '';
fail("META.json: version \"$mver\" is not a semantic version (X.Y.Z)") unless $mver =~ $semver;

my %licenses = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2
  bsd freebsd gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0
  mozilla_1_1 openssl perl_5 postgresql qpl_1_0 ssleay sun zlib open_source restricted
  unrestricted unknown);
my $lic = $meta->{license};
fail('META.json: license is not a meta-spec license string')
  unless defined $lic && !ref $lic && $licenses{$lic} || ref $lic eq 'HASH';

my $p = ref $meta->{provides} eq 'HASH' ? $meta->{provides}{execjson} : undef;
if (!$p)
{
	fail('META.json: provides has no "execjson"');
}
else
{
	fail('META.json: provides.execjson.file is missing') unless $p->{file};
	fail("META.json: provides.execjson.file $p->{file} does not exist")
	  if $p->{file} && !-f "$src/$p->{file}";
	fail('META.json: provides.execjson.docfile is not README.md')
	  unless ($p->{docfile} // '') eq 'README.md';
	fail("META.json: provides.execjson.version \"" . ($p->{version} // '') .
		  "\" differs from version \"$mver\"")
	  unless ($p->{version} // '') eq $mver;
}

my $pg = eval { $meta->{prereqs}{runtime}{requires}{PostgreSQL} } // '';
fail("META.json: prereqs.runtime.requires.PostgreSQL is \"$pg\", not 13.0.0")
  unless $pg eq '13.0.0';

# execjson.control
my ($cver) = slurp('execjson.control') =~ /^\s*default_version\s*=\s*'([^']*)'/m;
fail('execjson.control: no default_version') unless defined $cver;

# debian/changelog: "execjson (VERSION) suite; urgency=..."
my ($dver) = slurp('debian/changelog') =~ /\A\S+ \(([^)]+)\)/;
fail('debian/changelog: no version in its first line') unless defined $dver;
my $dupstream = $dver // '';
$dupstream =~ s/^\d+://;       # epoch
$dupstream =~ s/-[^-]+$//;     # Debian revision

if (defined $cver && defined $dver)
{
	my %v = (
		'META.json version' => norm($mver),
		'execjson.control default_version' => norm($cver),
		'debian/changelog version' => norm($dupstream));
	my %seen = map { ($_ // 'unparsable') => 1 } values %v;
	if (keys %seen != 1)
	{
		fail("versions disagree: META.json $mver, execjson.control $cver, debian/changelog $dver");
	}
	# The control file's default version must have an install path.
	fail("execjson.control default_version $cver has no sql/execjson--*$cver.sql script")
	  unless glob("$src/sql/execjson--*$cver.sql");
}

if (@fail)
{
	print "check-meta: $_\n" for @fail;
	print "check-meta: FAILED\n";
	exit 1;
}
print "check-meta: META.json well-formed; version $mver (control $cver, debian/changelog $dver)\n";
exit 0;
