//! Tells the tests whether the shared real-trace folder (`../shared/traces`) sits beside
//! this checkout: with it, `cfg(dcsim_shared)` is set and the real-trace tests run;
//! without it they are reported as ignored ("needs ../shared") rather than passing
//! silently. `.ci/run` fails when the folder is present and any of them was ignored.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(dcsim_shared)");
    println!("cargo:rerun-if-changed=../shared/traces");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/traces");
    if dir.is_dir() {
        println!("cargo:rustc-cfg=dcsim_shared");
    }
}
