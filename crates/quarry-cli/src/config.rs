//! quarry's configuration file: what a responder sets once. Today that is
//! the rule folders (`rules = ["~/detection-rules/rules", "~/sigma/rules"]`),
//! read from `$QUARRY_CONFIG`, else `quarry/config.toml` in the platform's
//! configuration folder (`~/.config` on Linux). `--rules` and
//! `QUARRY_RULES` come first; the file is read only when neither is given.

use std::path::{Path, PathBuf};

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    rules: Vec<String>,
}

/// Where the configuration file is looked for.
pub fn path() -> Option<PathBuf> {
    match std::env::var_os("QUARRY_CONFIG") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => dirs::config_dir().map(|d| d.join("quarry").join("config.toml")),
    }
}

/// The rule paths to use: those given (`--rules`, `QUARRY_RULES`), else
/// the configuration file's, else none (the built-in pack). A file that
/// exists but does not parse is a usage error, said here.
pub fn rule_paths(given: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    if !given.is_empty() {
        return Ok(given.to_vec());
    }
    let Some(file) = path() else {
        return Ok(Vec::new());
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    let config: Config =
        toml::from_str(&text).map_err(|e| format!("{}: {}", file.display(), e.message()))?;
    let base = file.parent().unwrap_or(Path::new("."));
    Ok(config.rules.iter().map(|r| resolve(r, base)).collect())
}

/// `~/x` under the home folder; a relative path beside the file.
fn resolve(path: &str, base: &Path) -> PathBuf {
    if let Some(rest) = path.strip_prefix("~/")
        && let Some(home) = dirs::home_dir()
    {
        return home.join(rest);
    }
    let p = PathBuf::from(path);
    if p.is_relative() { base.join(p) } else { p }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_beside_the_file_and_tilde_under_home() {
        let base = Path::new("/etc/quarry");
        assert_eq!(resolve("rules", base), PathBuf::from("/etc/quarry/rules"));
        assert_eq!(resolve("/srv/sigma", base), PathBuf::from("/srv/sigma"));
        if let Some(home) = dirs::home_dir() {
            assert_eq!(resolve("~/sigma/rules", base), home.join("sigma/rules"));
        }
    }
}
