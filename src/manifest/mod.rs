//! Manifests: YAML and CSV files read into one validated [`DesiredState`], every problem
//! reported at once with its file, line and column; and the way back, a desired state written
//! out as a manifest ([`to_yaml`], [`to_csv`]).
//!
//! The pipeline, one file each: `source` finds and reads the files, `yaml` (with `schema` and
//! `positions`) and `csv` read them, `interpolate` expands `${NAME}`, `validate` turns raw values
//! into the model and merges the files, `diagnostic` is what problems look like, `write` goes
//! back to text.

use std::path::PathBuf;

use crate::model::DesiredState;

mod csv;
mod diagnostic;
mod interpolate;
mod positions;
mod schema;
mod source;
mod validate;
mod write;
mod yaml;

pub use diagnostic::{Code, ManifestDiagnostic, Place};
pub use interpolate::{Environment, ProcessEnvironment};
pub use write::{WriteError, to_csv, to_yaml};

use diagnostic::{Problems, plural};
use source::{Format, Input};
use validate::Builder;

/// A desired state and what loading it noticed.
#[derive(Debug)]
pub struct Loaded {
    pub state: DesiredState,
    /// Problems that do not stop a load (a whitelist phone declared twice, a literal password,
    /// ...), sorted by file and position.
    pub warnings: Vec<ManifestDiagnostic>,
    /// How many files were read.
    pub files: usize,
}

/// Every problem found in a set of manifests (errors, and the warnings found with them), sorted
/// by file and position.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("invalid manifest: {}", summary(.diagnostics))]
pub struct ManifestErrors {
    #[related]
    pub diagnostics: Vec<ManifestDiagnostic>,
}

fn summary(diagnostics: &[ManifestDiagnostic]) -> String {
    let warnings = diagnostics.iter().filter(|d| d.is_warning()).count();
    let errors = diagnostics.len() - warnings;
    let mut text = plural(errors, "error", "errors");
    if warnings > 0 {
        text.push_str(", ");
        text.push_str(&plural(warnings, "warning", "warnings"));
    }
    text
}

/// Reads files and directories (every `.yaml`, `.yml`, `.csv` directly inside, in sorted order)
/// into one desired state, with `${NAME}` taken from the process environment.
pub fn load(paths: &[PathBuf]) -> Result<Loaded, ManifestErrors> {
    load_with(paths, &ProcessEnvironment)
}

/// [`load`], with variables taken from `env`.
pub fn load_with(paths: &[PathBuf], env: &dyn Environment) -> Result<Loaded, ManifestErrors> {
    let mut problems = Problems::default();
    let files = source::expand(paths, &mut problems);
    let inputs: Vec<Input> = files
        .iter()
        .enumerate()
        .filter_map(|(index, (path, format))| source::read(index, path, *format, &mut problems))
        .collect();
    let mut documents: Vec<_> = inputs
        .iter()
        .map(|input| match input.format {
            Format::Yaml => yaml::parse(input, &mut problems),
            Format::Csv => None,
        })
        .collect();
    let mut builder = Builder::new(&inputs, env, &mut problems);
    builder.settle_match_on(&documents);
    for (position, input) in inputs.iter().enumerate() {
        match input.format {
            Format::Yaml => {
                if let Some(document) = documents[position].take() {
                    builder.yaml(position, document);
                }
            }
            Format::Csv => csv::read(&mut builder, position),
        }
    }
    let mut state = builder.finish();
    state.sources = inputs.iter().map(Input::source_file).collect();
    match problems.finish() {
        Ok(warnings) => Ok(Loaded {
            state,
            warnings,
            files: inputs.len(),
        }),
        Err(diagnostics) => Err(ManifestErrors { diagnostics }),
    }
}
