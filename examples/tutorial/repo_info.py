import httpx

from deploytool import flow


@flow(log_prints=True)
def get_repo_info(repo_name: str = "PrefectHQ/prefect", api_url: str = "https://api.github.com"):
    """Print a GitHub repository's stars and forks."""
    response = httpx.get(f"{api_url}/repos/{repo_name}")
    response.raise_for_status()
    repo = response.json()
    print(f"{repo_name} repository statistics:")
    print(f"Stars: {repo['stargazers_count']}")
    print(f"Forks: {repo['forks_count']}")


if __name__ == "__main__":
    get_repo_info.deploy(
        name="my-first-deployment",
        work_pool_name="my-docker-pool",
        image="my-first-deployment-image:tutorial",
        push=False,
        job_variables={"image_pull_policy": "Never"},
    )
