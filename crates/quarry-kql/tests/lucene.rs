//! Lucene query strings case by case, as Elasticsearch's `query_string`
//! evaluates them (Lucene's classic parser with `default_operator: OR`,
//! `default_field: *`), on events built by hand with ECS fields of each
//! type: keyword, analysed text, number, ip, date.

use quarry_event::Event;
use quarry_kql::lucene::LuceneError;
use quarry_kql::{KqlOptions, compile_lucene};

fn doc() -> Event {
    let mut ev = Event::default();
    ev.set("destination.port", 445i64); // number
    ev.set("source.ip", "192.168.16.3"); // ip
    ev.set("process.name", "PowerShell.exe"); // keyword
    ev.set("process.args", vec!["powershell.exe", "-enc", "SQBFAFgA"]); // keyword list
    ev.set("event.created", "2024-03-31T10:20:30.000Z"); // date
    ev.set("file.path", r"C:\Windows\Temp\a b.ps1"); // keyword with specials
    // text, with the words-and-dashes analyzer
    ev.set(
        "powershell.file.script_block_text",
        "$x = [Convert]::FromBase64String($s); Invoke-Mimikatz -DumpCreds",
    );
    ev
}

fn eval(q: &str) -> bool {
    let opts = KqlOptions {
        now: quarry_event::parse_timestamp("2024-04-01T00:00:00Z"),
        ..KqlOptions::default()
    };
    compile_lucene(q, &opts)
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .query
        .matches(&doc())
}

fn yes(q: &str) {
    assert!(eval(q), "{q} should match");
}

fn no(q: &str) {
    assert!(!eval(q), "{q} should not match");
}

#[test]
fn terms_and_phrases() {
    yes("process.name:PowerShell.exe");
    yes("process.name:\"PowerShell.exe\"");
    // keyword: exact and case-sensitive
    no("process.name:powershell.exe");
    no("process.name:PowerShell");
    // multi-valued: any value
    yes("process.args:\\-enc");
    yes("process.args:\"-enc\"");
    // text: a term is any of its tokens, a phrase consecutive tokens
    // (its analyzer keeps `-` inside tokens: `invoke-mimikatz` is one)
    yes("powershell.file.script_block_text:Invoke-Mimikatz");
    no("powershell.file.script_block_text:mimikatz");
    yes("powershell.file.script_block_text:\"Invoke-Mimikatz -DumpCreds\"");
    no("powershell.file.script_block_text:\"-DumpCreds Invoke-Mimikatz\"");
    // escapes: `\:` and `\\` and an escaped space are literal
    yes(r"file.path:C\:\\Windows\\Temp\\a\ b.ps1");
    yes(r#"file.path:"C:\\Windows\\Temp\\a b.ps1""#);
    // numbers
    yes("destination.port:445");
    no("destination.port:446");
}

#[test]
fn wildcards_and_regexes() {
    // `*` and `?` on a keyword: case-sensitive, over the whole value
    yes("process.name:Power*");
    yes("process.name:Power?hell.exe");
    no("process.name:power*");
    no("process.name:Power?.exe");
    yes(r"file.path:C\:\\Windows\\*");
    yes(r"file.path:*a\ b.ps1");
    // on text: per token, lowercased as Elasticsearch normalises them
    yes("powershell.file.script_block_text:Invoke-Mimi*");
    yes("powershell.file.script_block_text:frombase64strin?");
    no("powershell.file.script_block_text:Invoke-Mimi?");
    // regexes are anchored; on a keyword case-sensitive, on text per token
    // and as written
    yes("process.name:/Power[Ss]hell\\.exe/");
    no("process.name:/Power/");
    yes("process.name:/Power.*/");
    yes("powershell.file.script_block_text:/invoke-mimi.+/");
    no("powershell.file.script_block_text:/Invoke-Mimi.+/");
    yes("destination.port:* AND source.ip:*");
    yes("_exists_:process.name");
    no("_exists_:process.parent.name");
    no("process.parent.name:*");
}

#[test]
fn ranges() {
    yes("destination.port:[400 TO 445]");
    no("destination.port:[400 TO 445}");
    yes("destination.port:{444 TO *]");
    no("destination.port:{445 TO *]");
    yes("destination.port:>=445");
    no("destination.port:>445");
    yes("destination.port:<446");
    yes("destination.port:[* TO *]");
    yes("source.ip:[192.168.0.0 TO 192.168.255.255]");
    no("source.ip:[10.0.0.0 TO 10.255.255.255]");
    yes("source.ip:\"192.168.0.0/16\"");
    yes(r"source.ip:192.168.0.0\/16");
    yes("event.created:[2024-03-31 TO 2024-04-01]");
    yes("event.created:>now-1d");
    no("event.created:>now-1h");
}

#[test]
fn boolean_logic() {
    yes("process.name:PowerShell.exe AND destination.port:445");
    no("process.name:PowerShell.exe AND destination.port:1");
    yes("process.name:nope OR destination.port:445");
    // clauses without operators are optional: one is enough
    yes("process.name:nope destination.port:445");
    // `+` requires, `-` prohibits; with a required clause the others score
    yes("+destination.port:445 process.name:nope");
    no("+destination.port:445 -process.name:PowerShell.exe");
    no("+destination.port:445 +process.name:nope");
    // Lucene's reading of mixed operators: `a AND b OR c` is `+a +b c`
    no("destination.port:1 AND process.name:nope OR destination.port:445");
    // and `a OR b AND c` is `a +b +c`: `a` alone is not enough
    no("destination.port:445 OR process.name:nope AND destination.port:445");
    yes("process.name:nope OR destination.port:445 AND process.name:PowerShell.exe");
    // a query of prohibited clauses only matches every other document
    yes("NOT process.name:nope");
    no("NOT process.name:PowerShell.exe");
    no("-process.name:PowerShell.exe");
    // `not f:x` matches documents without f
    yes("NOT process.parent.name:cmd.exe");
    // the field applies inside a group
    yes("process.name:(nope OR PowerShell.exe)");
    no("process.name:(nope AND PowerShell.exe)");
    yes("process.args:(+\"-enc\" -\"-nop\")");
    // a term without field searches every field
    yes("SQBFAFgA");
    yes("\"Invoke-Mimikatz -DumpCreds\"");
    no("nothing_like_it");
    // boosts only score
    yes("process.name:PowerShell.exe^2");
    yes("*:*");
}

#[test]
fn unsupported_and_errors() {
    let opts = KqlOptions::default();
    for q in [
        "process.name:powershel~",
        "process.name:powershel~1",
        "\"a b\"~3",
    ] {
        assert!(
            matches!(compile_lucene(q, &opts), Err(LuceneError::Unsupported(_))),
            "{q}"
        );
    }
    for q in [
        "process.name:(a",
        "a AND",
        "process.name:[1 TO",
        "f:/unclosed",
        "a)",
    ] {
        let e = compile_lucene(q, &opts).expect_err(q);
        assert!(matches!(e, LuceneError::Syntax(_)), "{q}");
        assert!(e.to_string().contains('^'), "{q}: {e}");
    }
    // a bad regex is an error at the operator
    assert!(compile_lucene("process.name:/a(/", &opts).is_err());
}
