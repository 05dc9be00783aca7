//! The `autoencoder` command line: a thin layer over the library. Errors print one line on
//! stderr and exit with code 2; nothing here panics on user input.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
