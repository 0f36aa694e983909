from deploytool import flow


@flow(name="etl")
def etl(source: str, batch_size: int = 100, dry_run: bool = False, tables: list[str] | None = None) -> None:
    print(source, batch_size, dry_run, tables)


@flow
def load_warehouse(target: str = "wh") -> None:
    print(target)


def helper() -> None:
    pass
