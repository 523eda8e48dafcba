//! `meditrustal admin …`: account administration without the HTTP API.

use std::io::BufRead;

use clap::Subcommand;
use meditrustal_store::Page;

use crate::config::Settings;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an administrator account. The password is read from standard input (one line),
    /// so it never appears in the shell history or the process list.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
    },
    /// List accounts (username, role, status, DID).
    List,
}

pub async fn run(settings: &Settings, command: AdminCommand) -> anyhow::Result<()> {
    let store = settings.open_store().await?;
    store.migrate().await?;
    match command {
        AdminCommand::Create { username, email } => {
            let app = crate::serve::build_app(settings, store)?;
            eprint!("password for {username} (one line on standard input): ");
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let user = app.create_admin(&username, &email, password).await?;
            println!("created admin {} ({})", user.username, user.did);
        }
        AdminCommand::List => {
            let page = Page {
                limit: u32::MAX,
                offset: 0,
            };
            for user in store.list_users(None, None, page).await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    user.username, user.role, user.status, user.did
                );
            }
        }
    }
    Ok(())
}
