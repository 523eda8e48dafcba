//! `serve --demo`: accounts for trying the product, created once and reused.

use meditrustal_app::App;
use meditrustal_domain::Role;

/// A demo account. The passwords are public by design: never use `--demo` with real data.
struct DemoAccount {
    username: &'static str,
    email: &'static str,
    password: &'static str,
    role: Role,
}

const ACCOUNTS: [DemoAccount; 3] = [
    DemoAccount {
        username: "patient.li",
        email: "patient.li@demo.meditrustal.invalid",
        password: "Demo-Patient-2026",
        role: Role::Patient,
    },
    DemoAccount {
        username: "dr.wang",
        email: "dr.wang@demo.meditrustal.invalid",
        password: "Demo-Doctor-2026",
        role: Role::Doctor,
    },
    DemoAccount {
        username: "researcher.chen",
        email: "researcher.chen@demo.meditrustal.invalid",
        password: "Demo-Research-2026",
        role: Role::Researcher,
    },
];

const DEMO_ADMIN_PASSWORD: &str = "Demo-Operator-2026";

/// What to print once the server is listening.
pub struct DemoCredentials {
    lines: Vec<String>,
}

impl DemoCredentials {
    pub fn print(&self) {
        println!("  Demo accounts (username / password):");
        for line in &self.lines {
            println!("    {line}");
        }
    }
}

/// Seeds the demo accounts (approved, so they can log in at once). The admin gets the demo
/// password unless `MEDITRUSTAL_ADMIN_PASSWORD` already set one.
pub async fn seed(app: &App, admin_from_env: bool) -> anyhow::Result<DemoCredentials> {
    let mut lines = Vec::new();
    for account in &ACCOUNTS {
        app.ensure_user(
            account.username,
            account.email,
            account.password,
            account.role,
        )
        .await?;
        lines.push(format!(
            "{:<10} {} / {}",
            account.role, account.username, account.password
        ));
    }
    if admin_from_env {
        lines.push(format!(
            "{:<10} admin / (MEDITRUSTAL_ADMIN_PASSWORD)",
            Role::Admin
        ));
    } else {
        app.ensure_bootstrap_admin(DEMO_ADMIN_PASSWORD).await?;
        lines.push(format!("{:<10} admin / {DEMO_ADMIN_PASSWORD}", Role::Admin));
    }
    Ok(DemoCredentials { lines })
}
