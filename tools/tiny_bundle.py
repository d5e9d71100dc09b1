"""What tools/export_tiny_*.py share: run the documented exporter, then write the committed tiny bundle
or (--check) compare it byte for byte with a fresh export."""
import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile


def run_exporter(argv):
    """Runs an exporter command deterministically (fixed hash seed); exits with its stderr on failure."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    p = subprocess.run(argv, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"export failed ({p.returncode}):\n{p.stderr[-4000:]}")


def differences(a, b):
    fa, fb = sorted(os.listdir(a)), sorted(os.listdir(b))
    if fa != fb:
        return [f"files differ: {fa} vs {fb}"]
    return [f for f in fa if not filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False)]


def main(doc, bundle, export, source, regenerate):
    """The scripts' command line. ``export(out)`` writes a fresh bundle into ``out``; ``source`` names
    what it is exported from and ``regenerate`` the commands to run when --check finds a difference."""
    name = os.path.basename(bundle)
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true",
                    help=f"export to a temporary folder and compare with models/{name} byte for byte")
    ap.add_argument("--out", default=bundle, help=f"bundle folder to (re)write (default models/{name})")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix=name + "-") as tmp:
        staged = os.path.join(tmp, "bundle")
        export(staged)
        if args.check:
            diff = differences(staged, args.out)
            if diff:
                print(f"{args.out} is not what the exporter makes from {source}: {diff}\n({regenerate})",
                      file=sys.stderr)
                return 1
            print(f"{args.out}: byte-identical to a fresh export")
            return 0
        if os.path.isdir(args.out):
            shutil.rmtree(args.out)
        shutil.copytree(staged, args.out)
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"wrote {args.out} ({total / 1e6:.2f} MB)")
    return 0
