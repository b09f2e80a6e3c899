# bench/dns/lib.sh: shell functions bench/dns.sh and bench/dns_instr.sh
# share (sourced, bash; run from the repository root with TMP and ROOT set).

port_busy() { # port
    ss -Hlnu "sport = :$1" 2>/dev/null | grep -q . || ss -Hlnt "sport = :$1" 2>/dev/null | grep -q .
}

# A config template with @PORT@, @RUN@ (gdnsd's run directory), @DIR@
# (steerd's directory) and @ROOT@ (the repository) filled in.
fill() { # template port -> stdout
    sed -e "s/@PORT@/$2/" -e "s#@RUN@#$TMP/gdnsd/run#" -e "s#@DIR@#$TMP/steerd#" -e "s#@ROOT@#$ROOT#" "$1"
}

# The steered setup of both servers in $TMP/gdnsd and $TMP/steerd: configs
# (suffix "" or -weighted) and the zone, gdnsd's with its DYNA record.
steered_configs() { # suffix gdnsd_port steerd_port zone
    fill "bench/dns/gdnsd-steered$1.config.in" "$2" >"$TMP/gdnsd/config"
    fill "bench/dns/steerd-steered$1.yaml.in" "$3" >"$TMP/steerd/steerd.yaml"
    { cat bench/dns/steered.test.zone; echo 'www 30 DYNA geoip!www'; } >"$TMP/gdnsd/zones/$4"
    cp bench/dns/steered.test.zone "$TMP/steerd/$4.zone"
}

# Polls until the server on port answers `probe A` with NOERROR. Fails when
# pid is gone or after tries x 0.1 s (plus the digs' own time).
wait_dns() { # port pid probe tries dig_timeout_s
    for _ in $(seq 1 "$4"); do
        kill -0 "$2" 2>/dev/null || return 1
        dig +time="$5" +tries=1 @127.0.0.1 -p "$1" "$3" A 2>/dev/null | grep -q 'status: NOERROR' && return 0
        sleep 0.1
    done
    return 1
}
