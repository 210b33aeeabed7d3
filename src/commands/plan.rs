//! `authing-sync plan`: load the manifests, read the pool, print what would change, and
//! optionally save the plan for `apply --plan`.

use std::time::Instant;

use crate::apply::DeleteLimit;
use crate::cli::PlanArgs;
use crate::diff::Policy;
use crate::exit::{Error, Outcome};
use crate::manifest;
use crate::plan::PlanFile;
use crate::printer::Printer;
use crate::settings::Connection;

use super::interrupt::Interrupts;
use super::planning::{self, delete_limit, guard_warning, listing, print_plan, show_warnings};
use super::session::Session;

pub async fn run(args: &PlanArgs, printer: &Printer) -> Result<Outcome, Error> {
    let started = Instant::now();
    let interrupts = Interrupts::watch(printer);
    let loaded = manifest::load(&args.manifests.files)?;
    show_warnings(&loaded, printer);
    let connection = Connection::resolve(&args.connection)?;
    super::capability::check_desired(&loaded.state, connection.api, Default::default())?;
    let session = interrupts
        .reading(Session::open(&connection, printer))
        .await?;
    let result = interrupts
        .reading(planning::make_plan(
            &session,
            &loaded.state,
            args.prune,
            &args.mfa,
            printer,
            started,
        ))
        .await;
    let pool = session.pool.clone();
    session.close().await?;
    let (plan, cost, _) = result?;

    // The file without its changes: they are written from the plan, one at a time.
    let mut file = PlanFile::header(&plan, pool, &loaded.state.sources);
    file.mfa_states = cost.mfa.clone();
    let limit = delete_limit(args.max_deletes.as_deref(), Some(&loaded.state))?;
    // The limit apply will enforce for a saved plan: the flag, else the manifests'.
    file.max_deletes = match &limit {
        DeleteLimit::Flag(max) | DeleteLimit::Manifest(max, _) => Some(max.to_string()),
        DeleteLimit::Default => None,
    };
    // The policy apply checks a saved plan's deletions against.
    file.prune = Policy::from_desired(&loaded.state, args.prune).entry();
    // The file first: what happens to stdout must not cost the saved plan.
    if let Some(path) = &args.out {
        file.save_streamed(&plan, path)?;
        printer.status(format!(
            "Saved the plan to {}; apply it with `authing-sync apply --plan {}`",
            path.display(),
            path.display()
        ));
    }
    let warnings = guard_warning(&plan, &limit).into_iter().collect();
    print_plan(
        &plan,
        &file,
        args.format,
        printer,
        args.mask_pii,
        Some(cost),
        warnings,
        listing(args.show, &plan, &limit),
    )
    .map_err(Error::Output)?;
    // Deletions left out of the plan are changes still pending.
    let pending = !plan.is_empty() || plan.deletes_suppressed().is_some();
    Ok(if pending {
        Outcome::Changes {
            detailed: args.detailed_exitcode,
        }
    } else {
        Outcome::NoChanges
    })
}
