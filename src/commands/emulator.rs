//! `authing-sync emulator`: run the Authing-compatible server until interrupted.

use crate::cli::EmulatorArgs;
use crate::emulator::{Config, Emulator};
use crate::exit::{Error, Outcome};
use crate::printer::Printer;
use crate::secret::Secret;

pub async fn run(args: &EmulatorArgs, printer: &Printer) -> Result<Outcome, Error> {
    let config = Config {
        listen: args.listen,
        client_id: args.client_id.clone(),
        secret: Secret::new(args.secret.as_str()),
        state: args.state.clone(),
        generate: args.generate,
        latency_ms: args.latency_ms,
        fault_rate: args.fault_rate,
        fault_seed: args.fault_seed,
        rate_limit: args.rate_limit,
        log_requests: args.log_requests,
    };
    let emulator = Emulator::start(config).await?;
    printer.data(&format!("listening on {}\n", emulator.graphql_url()))?;
    let _ = tokio::signal::ctrl_c().await;
    emulator.shutdown().await?;
    Ok(Outcome::Success)
}
