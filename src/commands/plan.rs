//! `authing-sync plan`: load the manifests, read the pool, print what would change, and
//! optionally save the plan for `apply --plan`.

use std::time::Instant;

use crate::cli::PlanArgs;
use crate::exit::{Error, Outcome};
use crate::manifest;
use crate::plan::PlanFile;
use crate::printer::Printer;
use crate::settings::Connection;

use super::planning::{self, delete_limit, guard_warning, render_plan, show_warnings};
use super::session::Session;

pub async fn run(args: &PlanArgs, printer: &Printer) -> Result<Outcome, Error> {
    let started = Instant::now();
    let loaded = manifest::load(&args.manifests.files)?;
    show_warnings(&loaded, printer);
    let connection = Connection::resolve(&args.connection)?;
    let session = Session::open(&connection, printer).await?;
    let result = planning::make_plan(&session, &loaded.state, args.prune, printer, started).await;
    let pool = session.pool.clone();
    session.close().await?;
    let (plan, cost) = result?;

    let mut file = PlanFile::new(&plan, pool, &loaded.state.sources);
    file.max_deletes = loaded
        .state
        .prune
        .max_deletes
        .map(|limit| limit.to_string());
    let limit = delete_limit(None, Some(&loaded.state))?;
    let warnings = guard_warning(&plan, &limit).into_iter().collect();
    printer.data(&render_plan(
        &plan,
        &file,
        args.format,
        printer,
        args.mask_pii,
        Some(cost),
        warnings,
    ))?;
    if let Some(path) = &args.out {
        file.save(path)?;
        printer.status(format!(
            "Saved the plan to {}; apply it with `authing-sync apply --plan {}`",
            path.display(),
            path.display()
        ));
    }
    Ok(if plan.is_empty() {
        Outcome::NoChanges
    } else {
        Outcome::Changes {
            detailed: args.detailed_exitcode,
        }
    })
}
