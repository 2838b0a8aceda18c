"""A local S3-compatible server for the tests: moto_server (PyPI moto[server],
which implements S3 conditional writes) on 127.0.0.1, on a free port."""
import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
               "aws_region": "us-east-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    def __init__(self, endpoint: str, proc: subprocess.Popen) -> None:
        self.endpoint = endpoint
        self.proc = proc

    def storage_options(self, **extra) -> dict:
        return {"aws_endpoint": self.endpoint, "allow_http": "true", **CREDENTIALS, **extra}

    def env(self) -> dict:
        """The same settings as AWS environment variables."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ALLOW_HTTP": "true",
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": "us-east-1"}

    def create_bucket(self, name: str) -> None:
        import boto3

        s3 = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
        s3.create_bucket(Bucket=name)

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="testing",
                            aws_secret_access_key="testing", region_name="us-east-1")

    def new_uri(self, bucket: str = "ailake") -> str:
        return f"s3://{bucket}/t-{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def running_s3_server(log_dir: pathlib.Path):
    port = free_port()
    # moto_server, with conditional writes made atomic as in S3 (see there).
    cmd = [sys.executable, str(pathlib.Path(__file__).with_name("moto_atomic_server.py"))]
    log = open(log_dir / "moto_server.log", "wb")
    env = dict(os.environ)
    proc = subprocess.Popen(cmd + ["-H", "127.0.0.1", "-p", str(port)], stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                break
            except Exception:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"moto_server did not start (see {log_dir}/moto_server.log)")
                time.sleep(0.2)
        server = S3Server(endpoint, proc)
        server.create_bucket("ailake")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
