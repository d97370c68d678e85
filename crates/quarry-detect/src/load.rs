//! Rule files and folders → a [`RuleSet`]. Folders are walked recursively
//! (sorted by path); each file is read by the rule format its extension
//! names. No paths: quarry's built-in pack.

use quarry_rules::{RuleSet, SkipKind, Skipped};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A rule file format: its extensions, its parser, and what it does once
/// every file is read.
struct Format {
    extensions: &'static [&'static str],
    parse: fn(&str, PathBuf) -> RuleSet,
    finish: fn(&mut RuleSet),
}

/// Every rule file format quarry reads: Elastic's detection-rules TOML
/// (EQL and KQL) and Sigma's YAML.
const FORMATS: &[Format] = &[
    Format {
        extensions: &["toml"],
        parse: quarry_rules::load_str,
        finish: |_| {},
    },
    Format {
        extensions: &["yml", "yaml"],
        parse: crate::frontend::sigma::read,
        finish: crate::frontend::sigma::finish,
    },
];

fn format_of(path: &Path) -> Option<&'static Format> {
    let ext = path.extension()?.to_str()?;
    FORMATS
        .iter()
        .find(|f| f.extensions.iter().any(|e| e.eq_ignore_ascii_case(ext)))
}

/// Rule files larger than this are not read (no rule file comes close; a
/// device or a runaway file named by mistake would otherwise be read whole).
pub const MAX_RULE_FILE_BYTES: u64 = 16 << 20;

/// Loads rule files and folders; with no paths, the built-in pack. Every
/// path that could not be read, holds no rules or did not parse is in
/// [`RuleSet::skipped`] (see [`unusable_paths`] for the ones named).
pub fn load(paths: &[PathBuf]) -> RuleSet {
    if paths.is_empty() {
        return quarry_rules::builtin();
    }
    let mut set = RuleSet::default();
    for p in paths {
        let mut files = Vec::new();
        if p.is_dir() {
            let mut problems = Vec::new();
            quarry_read::walk_files(p, |f| format_of(f).is_some(), &mut files, &mut problems);
            set.skipped.extend(problems.into_iter().map(|pr| Skipped {
                path: PathBuf::from(pr.file),
                rule_id: None,
                name: None,
                kind: SkipKind::ReadError,
                reason: pr.message,
            }));
            if files.is_empty() {
                set.skipped.push(read_error(p.clone(), NO_RULES.into()));
            }
        } else {
            files.push(p.clone());
        }
        // read and parsed on every core (thousands of files), then added
        // in path order, as one by one
        let read: Vec<Result<RuleSet, Box<Skipped>>> = files
            .into_par_iter()
            .map(|f| {
                // a file named on the command line is read as TOML unless
                // its extension says otherwise
                let parse = format_of(&f).map_or(FORMATS[0].parse, |fmt| fmt.parse);
                match read_bounded(&f) {
                    Ok(text) => Ok(parse(&text, f)),
                    Err(e) => Err(Box::new(read_error(f, e))),
                }
            })
            .collect();
        for r in read {
            match r {
                Ok(rules) => set.extend(rules),
                Err(skipped) => set.skipped.push(*skipped),
            }
        }
    }
    for f in FORMATS {
        (f.finish)(&mut set);
    }
    set
}

const NO_RULES: &str = "folder holds no rule files";

/// The paths among `paths` (as given) that gave nothing to run: missing,
/// unreadable, not a regular file, a folder without rule files, or a file
/// that does not parse — each with its reason. A user who names a path
/// means it: these are usage errors, unlike a bad file inside a folder.
pub fn unusable_paths<'a>(paths: &[PathBuf], skipped: &'a [Skipped]) -> Vec<&'a Skipped> {
    skipped
        .iter()
        .filter(|s| {
            paths.contains(&s.path) && matches!(s.kind, SkipKind::ReadError | SkipKind::ParseError)
        })
        .collect()
}

/// A rule file's text, refusing what is not a regular file or is larger
/// than [`MAX_RULE_FILE_BYTES`].
fn read_bounded(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file (FIFO, socket or device)".into());
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_RULE_FILE_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_RULE_FILE_BYTES {
        return Err(format!(
            "larger than {} MiB: not a rule file",
            MAX_RULE_FILE_BYTES >> 20
        ));
    }
    Ok(text)
}

fn read_error(path: PathBuf, reason: String) -> Skipped {
    Skipped {
        path,
        rule_id: None,
        name: None,
        kind: SkipKind::ReadError,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_paths_are_reported_and_no_paths_is_the_builtin_pack() {
        let missing: PathBuf = "/nonexistent/quarry-rules".into();
        let set = load(std::slice::from_ref(&missing));
        assert_eq!(set.skipped[0].kind, SkipKind::ReadError);
        assert_eq!(unusable_paths(&[missing], &set.skipped).len(), 1);
        let builtin = load(&[]);
        assert!(!builtin.rules.is_empty());
        assert!(builtin.skipped.is_empty());
    }

    #[test]
    fn devices_are_refused_without_reading_them() {
        let zero: PathBuf = "/dev/zero".into();
        let set = load(std::slice::from_ref(&zero));
        assert!(
            set.skipped[0].reason.contains("not a regular file"),
            "{:?}",
            set.skipped
        );
        assert_eq!(unusable_paths(&[zero], &set.skipped).len(), 1);
    }

    #[test]
    fn folders_are_walked_once_for_rule_files_only() {
        let scratch = tempfile::Builder::new()
            .prefix("quarry-detect-load-")
            .tempdir()
            .unwrap();
        let dir = scratch.path().to_path_buf();
        let sub = dir.join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        let rule = quarry_rules::builtin().rules[0].clone();
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../quarry-rules/rules/lateral_movement_dns_server_child_process.toml"),
        )
        .unwrap();
        std::fs::write(sub.join("rule.toml"), text).unwrap();
        std::fs::write(sub.join("notes.md"), "not a rule").unwrap();
        std::fs::write(sub.join("bad.toml"), "[rule]\nname = ").unwrap();
        // a link back to the top: each rule must still load once
        #[cfg(unix)]
        std::os::unix::fs::symlink(&dir, sub.join("loop")).unwrap();
        let set = load(std::slice::from_ref(&dir));
        assert_eq!(set.rules.len(), 1);
        assert_eq!(set.rules[0].rule_id, rule.rule_id);
        let kinds: Vec<&SkipKind> = set.skipped.iter().map(|s| &s.kind).collect();
        assert!(kinds.contains(&&SkipKind::ParseError), "{:?}", set.skipped);
        #[cfg(unix)]
        assert!(
            set.skipped.iter().any(|s| s.reason.contains("loops back")),
            "{:?}",
            set.skipped
        );
        // a bad file inside a folder is not a usage error; an empty folder is
        assert!(unusable_paths(std::slice::from_ref(&dir), &set.skipped).is_empty());
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let set = load(std::slice::from_ref(&empty));
        assert_eq!(unusable_paths(&[empty], &set.skipped)[0].reason, NO_RULES);
    }
}
