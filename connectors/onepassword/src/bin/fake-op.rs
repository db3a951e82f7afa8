//! A fake 1Password CLI for tests and the demo: `fake-op <op arguments>`, with its state in
//! `FAKE_OP_STATE`, else `$OP_CONFIG_DIR/fake-op-state.json`. See `connector_onepassword::simulator`.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match connector_onepassword::simulator::fake_op_main(args) {
        Ok(out) => {
            let _ = std::io::stdout().write_all(&out.stdout);
            let _ = std::io::stderr().write_all(out.stderr.as_bytes());
            ExitCode::from(out.status.clamp(0, 255) as u8)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
