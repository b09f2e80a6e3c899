#!/usr/bin/perl
# bench/rum_sim.pl: writes the simulator's geo databases (invented data, the
# simulated networks only): reads "prefix continent country asn" lines on
# stdin (rum_sim --print-networks) and writes OUTDIR/sim-city.mmdb and
# OUTDIR/sim-asn.mmdb with Debian's libmaxmind-db-writer-perl, so that the
# simulated queries go through geo/ lookups like steerd's.
#   build/bench/rum_sim --print-networks --networks N | perl bench/rum_sim.pl OUTDIR
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift or die "usage: rum_sim.pl OUTDIR < networks\n";

sub tree {
    my ($type, $types) = @_;
    return MaxMind::DB::Writer::Tree->new(
        ip_version               => 6,
        record_size              => 28,
        database_type            => $type,
        languages                => ['en'],
        description              => { en => "steer rum_sim $type (invented data)" },
        map_key_type_callback    => sub { $types->{ $_[0] } },
        remove_reserved_networks => 0,
        alias_ipv6_to_ipv4       => 0,
    );
}

my $city = tree('steer-sim-City', { continent => 'map', code => 'utf8_string',
                                    country => 'map', iso_code => 'utf8_string' });
my $asn = tree('steer-sim-ASN', { autonomous_system_number => 'uint32' });
my $n = 0;
while (my $line = <STDIN>) {
    my ($net, $cont, $cc, $as) = split ' ', $line;
    die "rum_sim.pl: line $.: expected 'prefix continent country asn'\n" unless defined $as;
    $city->insert_network($net, { continent => { code => $cont }, country => { iso_code => $cc } });
    $asn->insert_network($net, { autonomous_system_number => $as + 0 });
    $n++;
}
die "rum_sim.pl: no networks on stdin\n" unless $n;
for ([ $city, 'sim-city.mmdb' ], [ $asn, 'sim-asn.mmdb' ]) {
    my ($t, $f) = @$_;
    open my $fh, '>:raw', "$out/$f" or die "$out/$f: $!";
    $t->write_tree($fh);
    close $fh or die "$out/$f: $!";
}
