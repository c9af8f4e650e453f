# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_banwarden_global_optspecs
    string join \n c/config= h/help V/version
end

function __fish_banwarden_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_banwarden_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_banwarden_using_subcommand
    set -l cmd (__fish_banwarden_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c banwarden -n "__fish_banwarden_needs_command" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_needs_command" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_needs_command" -s V -l version -d 'Print version'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "check" -d 'Validate the configuration; list every problem with its place'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "replay" -d 'Run recorded journal entries through the rules, printing what would be done'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "test" -d 'Run log lines through the rules as a service\'s entries, showing the path each takes, what filters set, the counters and what would be done, without doing it (exit 0 once run, whatever the verdict)'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "run" -d 'Follow the journal and judge every new entry (the daemon)'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "boot" -d 'Put every stored ban back into the kernel sets, with the time it has left'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "ban" -d 'Ban an address by hand, in the kernel set and the store together'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "unban" -d 'Lift a ban, from the kernel set(s) and the store together'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "list" -d 'Show every ban: store and kernel side by side'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "status" -d 'Show what the running daemon is doing: entries judged, per-chain matches and bans, sets, counters near their threshold, errors, latency (exit 3 when it is not running, after what its files tell)'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "why" -d 'Say why an address is banned: every ban of it with who made it, the counter and the journal entry that led to it; exit 0 when banned, 1 when not'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "report" -d 'Print the pending daily report now (or mail it with --send)'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "migrate" -d 'Import the ban stores of a Pyruse storage directory'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "fleet" -d 'The bans shared with the other hosts through Redis (the configuration\'s fleet key)'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "hash-password" -d 'Print the argon2id hash of a password, for api.users and resp.password (reads one line from standard input, or prompts twice without echo on a terminal)'
complete -c banwarden -n "__fish_banwarden_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c banwarden -n "__fish_banwarden_using_subcommand check" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand check" -l kernel -d 'Also check that every firewall set the rules name exists in the kernel with a suitable type and flags (needs CAP_NET_ADMIN; exit 1 if one does not)'
complete -c banwarden -n "__fish_banwarden_using_subcommand check" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand replay" -s i -l input -d 'Entries in journal export format or JSON lines (`journalctl -o export|json`); "-" for stdin, which is also read when neither this nor a journal is given (unless stdin is a terminal: replay then says what it needs and exits with 2)' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand replay" -l journal-namespace -d 'Read a journal namespace (as `journalctl --namespace`)' -r
complete -c banwarden -n "__fish_banwarden_using_subcommand replay" -l journal-dir -d 'Read every journal file in a directory (e.g. gathered by systemd-journal-remote)' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand replay" -l journal-file -d 'Read these journal files (repeatable)' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand replay" -l since -d 'Only entries at or after this time ("2025-11-21 13:00", "2025-11-21T12:00:00Z", "@1763726400", "-2h")' -r
complete -c banwarden -n "__fish_banwarden_using_subcommand replay" -l until -d 'Only entries before this time (same forms as --since)' -r
complete -c banwarden -n "__fish_banwarden_using_subcommand replay" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand replay" -l user-journals -d 'With the system journal, read the users\' journals too'
complete -c banwarden -n "__fish_banwarden_using_subcommand replay" -l trace -d 'Print the path of each entry through the chains on stderr'
complete -c banwarden -n "__fish_banwarden_using_subcommand replay" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand test" -l unit -d 'The line was logged by this unit\'s main process ("sshd.service"; "sshd" means sshd.service): _SYSTEMD_UNIT, and SYSLOG_IDENTIFIER and _COMM from its name, _UID 0, _TRANSPORT syslog, as journald records a typical service\'s line' -r
complete -c banwarden -n "__fish_banwarden_using_subcommand test" -l identifier -d 'SYSLOG_IDENTIFIER (and _COMM); without --unit, the line is what `logger -t NAME` typed by you in a login session gives (your _UID, unit session-1.scope)' -r
complete -c banwarden -n "__fish_banwarden_using_subcommand test" -l field -d 'Add a field, or replace one of those above ("_UID=33", "_TRANSPORT=journal"); repeatable' -r
complete -c banwarden -n "__fish_banwarden_using_subcommand test" -l counters -d 'The counters start empty, or with the daemon\'s last saved ones (counters.json in the storage directory, read only)' -r -f -a "empty\t''
saved\t''"
complete -c banwarden -n "__fish_banwarden_using_subcommand test" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand test" -l json -d 'One JSON object per line instead of text'
complete -c banwarden -n "__fish_banwarden_using_subcommand test" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand run" -l journal-namespace -d 'Read a journal namespace (as `journalctl --namespace`)' -r
complete -c banwarden -n "__fish_banwarden_using_subcommand run" -l journal-dir -d 'Read every journal file in a directory (e.g. gathered by systemd-journal-remote)' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand run" -l journal-file -d 'Read these journal files (repeatable)' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand run" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand run" -l user-journals -d 'With the system journal, read the users\' journals too'
complete -c banwarden -n "__fish_banwarden_using_subcommand run" -l from-tail -d 'Start at the end of the journal, ignoring the saved position'
complete -c banwarden -n "__fish_banwarden_using_subcommand run" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand boot" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand boot" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand ban" -l set -d 'The set: "family table set" for nftables ("table set" means family ip), a set name with --ipset' -r
complete -c banwarden -n "__fish_banwarden_using_subcommand ban" -l for -d 'How long: seconds ("3600") or nft style ("1d12h", "3d31m16s"); forever when absent' -r
complete -c banwarden -n "__fish_banwarden_using_subcommand ban" -l reason -d 'Why, in your words: kept with the ban in the store and shown by `why` and `list` (at most 200 characters are kept)' -r
complete -c banwarden -n "__fish_banwarden_using_subcommand ban" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand ban" -l ipset -d 'The set is an ipset set'
complete -c banwarden -n "__fish_banwarden_using_subcommand ban" -l replace -d 'Replace a ban already in place even if it ends later (without it, a ban only ever extends: a shorter one leaves the longer one as it is)'
complete -c banwarden -n "__fish_banwarden_using_subcommand ban" -l fleet -d 'Share the ban with the fleet too: once banned here, it waits in the spool (fleet.spool in the storage directory) for the daemon to publish it (always so when fleet.share names "cli")'
complete -c banwarden -n "__fish_banwarden_using_subcommand ban" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand unban" -l set -d 'Only from this set (every set the store has it in when absent)' -r
complete -c banwarden -n "__fish_banwarden_using_subcommand unban" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand unban" -l ipset -d 'The set is an ipset set'
complete -c banwarden -n "__fish_banwarden_using_subcommand unban" -l fleet -d 'Lift it on every host of the fleet too, through the spool the daemon publishes (always so when fleet.share names "cli"); with --set, even when this host had no such ban'
complete -c banwarden -n "__fish_banwarden_using_subcommand unban" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand list" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand list" -l kernel -d 'Read every kernel set whole, however large (without it, an nftables set with over 50,000 stored bans or an ipset of over 200,000 elements is not read, and the listing says so): what shows the elements added by hand to a large set'
complete -c banwarden -n "__fish_banwarden_using_subcommand list" -l json -d 'One JSON object per ban instead of a table'
complete -c banwarden -n "__fish_banwarden_using_subcommand list" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand status" -l socket -d 'The control socket to ask [default: control.socket of the configuration, /run/banwarden/control]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand status" -l top -d 'Counter keys closest to their threshold to show' -r
complete -c banwarden -n "__fish_banwarden_using_subcommand status" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand status" -l json -d 'Print the daemon\'s snapshot as JSON (with "running": true), or what the files tell (with "running": false)'
complete -c banwarden -n "__fish_banwarden_using_subcommand status" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand why" -l journal-namespace -d 'Read a journal namespace (as `journalctl --namespace`)' -r
complete -c banwarden -n "__fish_banwarden_using_subcommand why" -l journal-dir -d 'Read every journal file in a directory (e.g. gathered by systemd-journal-remote)' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand why" -l journal-file -d 'Read these journal files (repeatable)' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand why" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand why" -l json -d 'One JSON document, with every field of the journal entries found'
complete -c banwarden -n "__fish_banwarden_using_subcommand why" -l user-journals -d 'With the system journal, read the users\' journals too'
complete -c banwarden -n "__fish_banwarden_using_subcommand why" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand report" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand report" -l send -d 'Mail it now (text and HTML) with the `email` settings, then forget its lines'
complete -c banwarden -n "__fish_banwarden_using_subcommand report" -l html -d 'Print the HTML body instead of the text one'
complete -c banwarden -n "__fish_banwarden_using_subcommand report" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand migrate" -l from-pyruse -d 'Pyruse\'s storage directory (where its action_nftBan.py.json is)' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand migrate" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand migrate" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand fleet; and not __fish_seen_subcommand_from status help" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand fleet; and not __fish_seen_subcommand_from status help" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand fleet; and not __fish_seen_subcommand_from status help" -f -a "status" -d 'Whether the daemon is connected to Redis, its position in the stream and its lag, what it published and what waits, and what each other host\'s entries did here (exit 0 when running and connected, 1 when not, 2 without a fleet key)'
complete -c banwarden -n "__fish_banwarden_using_subcommand fleet; and not __fish_seen_subcommand_from status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c banwarden -n "__fish_banwarden_using_subcommand fleet; and __fish_seen_subcommand_from status" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand fleet; and __fish_seen_subcommand_from status" -l json -d 'The daemon\'s status file as JSON, with "running" (true or false) added'
complete -c banwarden -n "__fish_banwarden_using_subcommand fleet; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand fleet; and __fish_seen_subcommand_from help" -f -a "status" -d 'Whether the daemon is connected to Redis, its position in the stream and its lag, what it published and what waits, and what each other host\'s entries did here (exit 0 when running and connected, 1 when not, 2 without a fleet key)'
complete -c banwarden -n "__fish_banwarden_using_subcommand fleet; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c banwarden -n "__fish_banwarden_using_subcommand hash-password" -s c -l config -d 'The configuration file (Pyruse\'s JSON format) [default: /etc/banwarden/banwarden.json for root, ~/.config/banwarden/banwarden.json for other users]' -r -F
complete -c banwarden -n "__fish_banwarden_using_subcommand hash-password" -s h -l help -d 'Print help'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "check" -d 'Validate the configuration; list every problem with its place'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "replay" -d 'Run recorded journal entries through the rules, printing what would be done'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "test" -d 'Run log lines through the rules as a service\'s entries, showing the path each takes, what filters set, the counters and what would be done, without doing it (exit 0 once run, whatever the verdict)'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "run" -d 'Follow the journal and judge every new entry (the daemon)'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "boot" -d 'Put every stored ban back into the kernel sets, with the time it has left'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "ban" -d 'Ban an address by hand, in the kernel set and the store together'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "unban" -d 'Lift a ban, from the kernel set(s) and the store together'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "list" -d 'Show every ban: store and kernel side by side'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "status" -d 'Show what the running daemon is doing: entries judged, per-chain matches and bans, sets, counters near their threshold, errors, latency (exit 3 when it is not running, after what its files tell)'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "why" -d 'Say why an address is banned: every ban of it with who made it, the counter and the journal entry that led to it; exit 0 when banned, 1 when not'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "report" -d 'Print the pending daily report now (or mail it with --send)'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "migrate" -d 'Import the ban stores of a Pyruse storage directory'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "fleet" -d 'The bans shared with the other hosts through Redis (the configuration\'s fleet key)'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "hash-password" -d 'Print the argon2id hash of a password, for api.users and resp.password (reads one line from standard input, or prompts twice without echo on a terminal)'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and not __fish_seen_subcommand_from check replay test run boot ban unban list status why report migrate fleet hash-password help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c banwarden -n "__fish_banwarden_using_subcommand help; and __fish_seen_subcommand_from fleet" -f -a "status" -d 'Whether the daemon is connected to Redis, its position in the stream and its lag, what it published and what waits, and what each other host\'s entries did here (exit 0 when running and connected, 1 when not, 2 without a fleet key)'
