//! Loading the autoscaler configuration (the simulator's file format) from a mounted file.
//!
//! The file usually comes from a ConfigMap mounted at `/etc/vpsie-autoscaler/config.yaml`. A
//! missing file is an error (a typo in the mount path must not silently mean "defaults"); an
//! empty file gives the defaults.

use std::path::{Path, PathBuf};

use vpsie_engine::autoscaler::{AutoscalerConfig, ConfigError};

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigLoadError {
    #[error("cannot read configuration file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(#[from] ConfigError),
}

impl ConfigLoadError {
    /// Stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ConfigLoadError::Read { .. } => "read",
            ConfigLoadError::Invalid(e) => e.metric_label(),
        }
    }
}

/// Parses and validates configuration text; `--dry-run` on the command line forces dry-run.
pub fn parse_config(
    text: &str,
    source_name: &str,
    force_dry_run: bool,
) -> Result<AutoscalerConfig, ConfigLoadError> {
    let mut config = AutoscalerConfig::from_text(text, source_name)?;
    if force_dry_run {
        config.dry_run = true;
    }
    Ok(config)
}

/// Reads, parses and validates the configuration file.
pub fn load_config(path: &Path, force_dry_run: bool) -> Result<AutoscalerConfig, ConfigLoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigLoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_config(&text, &path.display().to_string(), force_dry_run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_gives_defaults_and_flag_forces_dry_run() {
        let c = parse_config("", "config.yaml", true).unwrap();
        assert!(c.dry_run);
        assert_eq!(c.scan_interval, AutoscalerConfig::default().scan_interval);
    }

    #[test]
    fn unknown_field_is_named_with_file_and_line() {
        let err = parse_config(
            "scanInterval: 10s\nscanIntervall: 5s\n",
            "cm/config.yaml",
            false,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("cm/config.yaml:2"), "{text}");
        assert!(text.contains("scanIntervall"), "{text}");
    }

    #[test]
    fn out_of_range_value_is_rejected() {
        let err = parse_config(
            "scaleDown:\n  utilizationThreshold: 1.5\n",
            "config.yaml",
            false,
        )
        .unwrap_err();
        assert!(err.to_string().contains("utilizationThreshold"), "{err}");
        assert_eq!(err.metric_label(), "invalid");
    }

    #[test]
    fn missing_file_is_an_error_naming_the_path() {
        let err = load_config(Path::new("/nonexistent/vpsie/config.yaml"), false).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/vpsie/config.yaml"));
        assert_eq!(err.metric_label(), "read");
    }
}
