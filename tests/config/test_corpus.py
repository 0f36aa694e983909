"""Every real prefect.yaml in ../shared/corpus/prefect-yaml has an explicit expected outcome, and none crashes.

Each file is validated as a `prefect.yaml` (keys Prefect silently ignores are warnings). The corpus holds no
flow code, so each deployment's entrypoint is reported missing; those are counted, every other diagnostic is
listed with its line, severity, key path and the start of its message.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploytool.config.validate import validate_file
from tests.config.corpus import require_corpus


@dataclass(frozen=True)
class Expected:
    missing_entrypoints: int
    issues: list[tuple[int, str, str, str]]  # (line, "E" or "W", key path, message prefix)

    @property
    def accepted(self) -> bool:
        return self.missing_entrypoints == 0 and not any(sev == "E" for _, sev, _, _ in self.issues)


EXPECTED: dict[str, Expected] = {
    "25-26J-099__AI-POWERED-MATCH-ANALYSIS-AND-ENGAGEMENT-SYSTEM__prefect.yaml": Expected(
        missing_entrypoints=2,
        issues=[],
    ),
    "3commacapital__prefect-flows__prefect.yaml": Expected(
        missing_entrypoints=4,
        issues=[
            (
                7,
                "E",
                "push[0].prefect_aws.deployments.steps.push_to_s3",
                "step 'prefect_aws.deployments.steps.push_to_s3' from prefect",
            ),
            (
                14,
                "E",
                "pull[0].prefect_aws.deployments.steps.pull_from_s3",
                "step 'prefect_aws.deployments.steps.pull_from_s3' from prefe",
            ),
            (
                40,
                "W",
                "deployments[01 Deploy Wallet Valuations].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                41,
                "W",
                "deployments[01 Deploy Wallet Valuations].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (
                59,
                "W",
                "deployments[02 Deploy Wallet Snapshots].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                60,
                "W",
                "deployments[02 Deploy Wallet Snapshots].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (
                78,
                "W",
                "deployments[05 Send Fund Prices].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                79,
                "W",
                "deployments[05 Send Fund Prices].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (
                97,
                "W",
                "deployments[08 Save Benchmark Values DB].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                98,
                "W",
                "deployments[08 Save Benchmark Values DB].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
        ],
    ),
    "9MRTAE__ingest-aws-s3__prefect.yaml": Expected(
        missing_entrypoints=3,
        issues=[],
    ),
    "Adedayo19__spotify-data-logger__prefect.yaml": Expected(
        missing_entrypoints=1,
        issues=[],
    ),
    "AgnelFernando__HybridRecommender__prefect.yaml": Expected(
        missing_entrypoints=1,
        issues=[],
    ),
    "Angeluz-07__content-creation__prefect.yaml": Expected(
        missing_entrypoints=4,
        issues=[],
    ),
    "Arjunj-keyvalue__train-pipeline__prefect.yaml": Expected(
        missing_entrypoints=2,
        issues=[
            (
                22,
                "E",
                "pull[1].prefect.deployments.steps.pip_install_requirements.directory",
                "expected a string, or nothing (null), got a mapping",
            ),
            (22, "E", "", "a mapping or list cannot be used as a key"),
        ],
    ),
    "Artoss__labour_market_AU__prefect.yaml": Expected(
        missing_entrypoints=2,
        issues=[
            (
                74,
                "W",
                "deployments[labour-daily-monitor].job_variables",
                "unknown key 'job_variables' is ignored (Prefect ignores it t",
            ),
            (
                96,
                "W",
                "deployments[labour-warehouse-mirror].job_variables",
                "unknown key 'job_variables' is ignored (Prefect ignores it t",
            ),
        ],
    ),
    "Ben-Epstein__prefect-modal__prefect.yaml": Expected(
        missing_entrypoints=1,
        issues=[],
    ),
    "Brennan-Chesley-FLP__en_banc__prefect.yaml": Expected(
        missing_entrypoints=3,
        issues=[],
    ),
    "CBIIT__C3DC-Prefect-Dataloader__prefect.yaml": Expected(
        missing_entrypoints=1,
        issues=[],
    ),
    "CBIIT__ChildhoodCancerDataInitiative-Prefect_Pipeline__prefect.yaml": Expected(
        missing_entrypoints=35,
        issues=[
            (
                842,
                "E",
                "deployments[join-tsv-to-manifest_OLD].name",
                "no work pool: every deployment names the pool whose workers ",
            ),
            (
                864,
                "E",
                "deployments[guid-meta-check].name",
                "no work pool: every deployment names the pool whose workers ",
            ),
        ],
    ),
    "CLDC-OU__ExampleMessagerFlow__prefect.yaml": Expected(
        missing_entrypoints=1,
        issues=[
            (
                38,
                "W",
                "deployments[message-deployment].environment",
                "unknown key 'environment' is ignored (Prefect ignores it too",
            ),
        ],
    ),
    "Cam0505__CamOnPrefect__prefect.yaml": Expected(
        missing_entrypoints=0,
        issues=[
            (1, "W", "=name", "unknown key '=name' is ignored (Prefect ignores it too)"),
            (4, "W", "variables", "unknown key 'variables' is ignored (Prefect ignores it too)"),
            (21, "E", "deployments[fbi-deployment]", "missing required key 'entrypoint'"),
            (48, "E", "deployments[beverages-deployment]", "missing required key 'entrypoint'"),
            (61, "E", "deployments[gsheets-deployment]", "missing required key 'entrypoint'"),
            (74, "E", "deployments[RickyAndMarty-deployment]", "missing required key 'entrypoint'"),
            (87, "E", "deployments[uv-deployment]", "missing required key 'entrypoint'"),
        ],
    ),
    "CamilleLarpin__pea-pme-pulse__prefect.yaml": Expected(
        missing_entrypoints=0,
        issues=[
            (97, "E", "", "invalid YAML: this line is indented differently from the lines above it"),
        ],
    ),
    "CarlosGuedea__Pronostico_Conecta__prefect.yaml": Expected(
        missing_entrypoints=0,
        issues=[
            (4, "E", "", "no deployments"),
            (5, "W", "description", "unknown key 'description' is ignored (Prefect ignores it too"),
            (6, "W", "version", "unknown key 'version' is ignored (Prefect ignores it too)"),
            (7, "W", "tags", "unknown key 'tags' is ignored (Prefect ignores it too)"),
            (8, "W", "flow_name", "unknown key 'flow_name' is ignored (Prefect ignores it too)"),
            (9, "W", "entrypoint", "unknown key 'entrypoint' is ignored (Prefect ignores it too)"),
            (14, "W", "schedule", "unknown key 'schedule' is ignored (Prefect ignores it too)"),
            (21, "W", "work_pool", "unknown key 'work_pool' is ignored (Prefect ignores it too)"),
            (29, "W", "parameters", "unknown key 'parameters' is ignored (Prefect ignores it too)"),
            (30, "W", "infra_overrides", "unknown key 'infra_overrides' is ignored (Prefect ignores it"),
            (31, "W", "pull_steps", "unknown key 'pull_steps' is ignored (Prefect ignores it too)"),
        ],
    ),
    "DIIDRao__wa-flows__prefect.yaml": Expected(
        missing_entrypoints=1,
        issues=[
            (1, "W", "version", "unknown key 'version' is ignored (Prefect ignores it too)"),
            (
                8,
                "W",
                "deployments[batch-test-deployment].infra_overrides",
                "unknown key 'infra_overrides' is ignored (Prefect ignores it",
            ),
        ],
    ),
    "Honglin-Jiang__ba882-sec-team__prefect.yaml": Expected(
        missing_entrypoints=3,
        issues=[
            (
                38,
                "W",
                "deployments[ba882-team9-deployment].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                39,
                "W",
                "deployments[ba882-team9-deployment].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (
                56,
                "W",
                "deployments[ba882-team9-deployment-v2].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                57,
                "W",
                "deployments[ba882-team9-deployment-v2].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (
                61,
                "W",
                "deployments[ba882-team9-deployment-v2].schedules[1].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                62,
                "W",
                "deployments[ba882-team9-deployment-v2].schedules[1].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
        ],
    ),
    "KlixMediaAds__klix-flows__prefect.yaml": Expected(
        missing_entrypoints=3,
        issues=[
            (1, "W", "version", "unknown key 'version' is ignored (Prefect ignores it too)"),
        ],
    ),
    "NSLS2__hex-workflows__prefect.yaml": Expected(
        missing_entrypoints=3,
        issues=[],
    ),
    "OlegPodlipalin__kedro_prefect__prefect.yaml": Expected(
        missing_entrypoints=2,
        issues=[
            (12, "W", "common_work_pool", "unknown key 'common_work_pool' is ignored (Prefect ignores i"),
            (25, "W", "common_deployment", "unknown key 'common_deployment' is ignored (Prefect ignores "),
        ],
    ),
    "SwissOpenEM__ScopeMArchiver__backend_prefect_prefect.yaml": Expected(
        missing_entrypoints=4,
        issues=[
            (
                34,
                "W",
                "deployments[dataset_creation].work_pool.concurrency_limit",
                "unknown key 'concurrency_limit' is ignored (Prefect ignores ",
            ),
            (
                59,
                "W",
                "deployments[end_to_end_test].work_pool.concurrency_limit",
                "unknown key 'concurrency_limit' is ignored (Prefect ignores ",
            ),
            (
                81,
                "E",
                "deployments[datasets_archival].work_pool.job_variables.volumes[0]",
                "{{ ARCHIVER_SCRATCH_FOLDER }} refers to 'ARCHIVER_SCRATCH_FO",
            ),
            (
                85,
                "W",
                "deployments[datasets_archival].work_pool.concurrency_limit",
                "unknown key 'concurrency_limit' is ignored (Prefect ignores ",
            ),
            (
                108,
                "E",
                "deployments[datasets_retrieval].work_pool.job_variables.volumes[0]",
                "{{ ARCHIVER_SCRATCH_FOLDER }} refers to 'ARCHIVER_SCRATCH_FO",
            ),
            (
                112,
                "W",
                "deployments[datasets_retrieval].work_pool.concurrency_limit",
                "unknown key 'concurrency_limit' is ignored (Prefect ignores ",
            ),
        ],
    ),
    "adnuka__prefect-deployment__prefect.yaml": Expected(
        missing_entrypoints=0,
        issues=[
            (1, "E", "", "no deployments: the file is empty"),
        ],
    ),
    "amackojc__prefect-aks-ml__prefect_prefect.yaml": Expected(
        missing_entrypoints=10,
        issues=[
            (66, "W", "deployments[balanced].schedules", "`schedules: null` is read as no schedules"),
            (72, "W", "deployments[balanced_vgg19].schedules", "`schedules: null` is read as no schedules"),
            (78, "W", "deployments[imbalanced].schedules", "`schedules: null` is read as no schedules"),
            (84, "W", "deployments[imbalanced_smote].schedules", "`schedules: null` is read as no schedules"),
            (90, "W", "deployments[imbalanced_adasyn].schedules", "`schedules: null` is read as no schedules"),
            (96, "W", "deployments[imbalanced_smotetomek].schedules", "`schedules: null` is read as no schedules"),
            (102, "W", "deployments[imbalanced_vgg19].schedules", "`schedules: null` is read as no schedules"),
            (108, "W", "deployments[imbalanced_vgg19_smote].schedules", "`schedules: null` is read as no schedules"),
            (114, "W", "deployments[imbalanced_vgg19_adasyn].schedules", "`schedules: null` is read as no schedules"),
            (
                120,
                "W",
                "deployments[imbalanced_vgg19_smotetomek].schedules",
                "`schedules: null` is read as no schedules",
            ),
        ],
    ),
    "billybjork__heaters__backend_prefect.yaml": Expected(
        missing_entrypoints=6,
        issues=[],
    ),
    "chiplusplus__access-iq-platform__flows_prefect.yaml": Expected(
        missing_entrypoints=1,
        issues=[],
    ),
    "datopian__preflow__flows_prefect.yaml": Expected(
        missing_entrypoints=2,
        issues=[
            (
                14,
                "W",
                "deployments[ckan_datastore_ingestion].schedule",
                "`schedule: []` is read as no schedule",
            ),
            (
                15,
                "W",
                "deployments[ckan_datastore_ingestion].is_paused",
                "unknown key 'is_paused' is ignored (Prefect ignores it too)",
            ),
            (
                27,
                "W",
                "deployments[example_flow].schedule",
                "`schedule: []` is read as no schedule",
            ),
            (
                28,
                "W",
                "deployments[example_flow].is_paused",
                "unknown key 'is_paused' is ignored (Prefect ignores it too)",
            ),
        ],
    ),
    "dorukgezici__subabot__backend_prefect.yaml": Expected(
        missing_entrypoints=1,
        issues=[
            (
                41,
                "W",
                "deployments[subabot].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                42,
                "W",
                "deployments[subabot].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
        ],
    ),
    "genomehubs__data__flows_prefect.yaml": Expected(
        missing_entrypoints=9,
        issues=[
            (
                72,
                "W",
                "deployments[fetch-parse-validate-ncbi-datasets].triggers",
                "triggers (Prefect automations) are not supported by deployto",
            ),
            (
                133,
                "W",
                "deployments[update-ena-taxonomy-extra].triggers",
                "triggers (Prefect automations) are not supported by deployto",
            ),
            (
                159,
                "W",
                "deployments[update-genomehubs-taxonomy].triggers",
                "triggers (Prefect automations) are not supported by deployto",
            ),
            (
                191,
                "W",
                "deployments[fetch-parse-validate-data-freeze].triggers",
                "triggers (Prefect automations) are not supported by deployto",
            ),
        ],
    ),
    "jnsofini__mlops__03-orchestration_deployment.yaml": Expected(
        missing_entrypoints=2,
        issues=[],
    ),
    "jnsofini__mlops__03-orchestration_prefect.yaml": Expected(
        missing_entrypoints=0,
        issues=[
            (4, "E", "", "no deployments"),
        ],
    ),
    "jomariya23156__prefect-deployments__prefect.yaml": Expected(
        missing_entrypoints=2,
        issues=[],
    ),
    "kapsali29__pull-push-pipeline__src_prefect.yaml": Expected(
        missing_entrypoints=1,
        issues=[],
    ),
    "lelouvincx__wwi-data-platform__prefect-docker.yaml": Expected(
        missing_entrypoints=3,
        issues=[],
    ),
    "limaofeng__quantx__apps_worker_prefect.yaml": Expected(
        missing_entrypoints=14,
        issues=[
            (
                97,
                "W",
                "deployments[daily-market-data-sync].concurrency_limit.grace_period_seconds",
                "`grace_period_seconds` is not used: a run's slot is freed whe",
            ),
            (
                114,
                "W",
                "deployments[daily-indicator-snapshot].concurrency_limit.grace_period_seconds",
                "`grace_period_seconds` is not used: a run's slot is freed whe",
            ),
            (
                131,
                "W",
                "deployments[ios-apns-delivery].concurrency_limit.grace_period_seconds",
                "`grace_period_seconds` is not used: a run's slot is freed whe",
            ),
            (
                143,
                "W",
                "deployments[ios-business-notification-projection].concurrency_limit.grace_period_seconds",
                "`grace_period_seconds` is not used: a run's slot is freed whe",
            ),
        ],
    ),
    "tig0826__prefect-workflow__life_dashboard_prefect.yaml": Expected(
        missing_entrypoints=9,
        issues=[],
    ),
    "uclh-criu__crdm-tools__prefect.yaml": Expected(
        missing_entrypoints=2,
        issues=[
            (42, "W", "deployments[omop_es-dev].schedules", "`schedules: null` is read as no schedules"),
            (58, "W", "deployments[omop_es-prod].schedules", "`schedules: null` is read as no schedules"),
        ],
    ),
    "wonkothesanest__prefect_data_getters__prefect.yaml": Expected(
        missing_entrypoints=14,
        issues=[
            (30, "E", "deployments[Email Processing Flow].concurrency_limit", "missing required key 'limit'"),
            (48, "E", "deployments[Gmail Flow].concurrency_limit", "missing required key 'limit'"),
            (
                62,
                "W",
                "deployments[Gmail Flow].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                63,
                "W",
                "deployments[Gmail Flow].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (71, "E", "deployments[Utilize Analysis Flow].concurrency_limit", "missing required key 'limit'"),
            (88, "E", "deployments[Google Calendar Backup].concurrency_limit", "missing required key 'limit'"),
            (
                103,
                "W",
                "deployments[Google Calendar Backup].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                104,
                "W",
                "deployments[Google Calendar Backup].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (112, "E", "deployments[Slab Backup].concurrency_limit", "missing required key 'limit'"),
            (
                125,
                "W",
                "deployments[Slab Backup].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                126,
                "W",
                "deployments[Slab Backup].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (134, "E", "deployments[Slack Backup].concurrency_limit", "missing required key 'limit'"),
            (
                147,
                "W",
                "deployments[Slack Backup].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                148,
                "W",
                "deployments[Slack Backup].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (156, "E", "deployments[Gmail Mbox Backup].concurrency_limit", "missing required key 'limit'"),
            (167, "E", "deployments[Gmail Flow].name", "deployment 'gmail-flow/Gmail Flow' is defined twice (first a"),
            (171, "E", "deployments[Gmail Flow].concurrency_limit", "missing required key 'limit'"),
            (
                185,
                "W",
                "deployments[Gmail Flow].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                186,
                "W",
                "deployments[Gmail Flow].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (194, "E", "deployments[Jira Backup].concurrency_limit", "missing required key 'limit'"),
            (
                207,
                "W",
                "deployments[Jira Backup].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                208,
                "W",
                "deployments[Jira Backup].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (216, "E", "deployments[Bitbucket PR Backup].concurrency_limit", "missing required key 'limit'"),
            (
                230,
                "W",
                "deployments[Bitbucket PR Backup].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                231,
                "W",
                "deployments[Bitbucket PR Backup].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (239, "E", "deployments[OKR Report Flow].concurrency_limit", "missing required key 'limit'"),
            (
                253,
                "W",
                "deployments[OKR Report Flow].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                254,
                "W",
                "deployments[OKR Report Flow].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (262, "E", "deployments[People Report Flow].concurrency_limit", "missing required key 'limit'"),
            (
                278,
                "W",
                "deployments[People Report Flow].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                279,
                "W",
                "deployments[People Report Flow].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
            (287, "E", "deployments[RAG Report Flow].concurrency_limit", "missing required key 'limit'"),
            (305, "E", "deployments[Secretary Report Flow].concurrency_limit", "missing required key 'limit'"),
            (
                319,
                "W",
                "deployments[Secretary Report Flow].schedules[0].max_active_runs",
                "'max_active_runs' is a Prefect 2 schedule key that Prefect 3",
            ),
            (
                320,
                "W",
                "deployments[Secretary Report Flow].schedules[0].catchup",
                "'catchup' is a Prefect 2 schedule key that Prefect 3 ignores",
            ),
        ],
    ),
}


def _missing_entrypoint(path: str, message: str) -> bool:
    return path.endswith(".entrypoint") and ("does not exist" in message or "not found under" in message)


def test_every_corpus_file_has_an_expectation() -> None:
    corpus = require_corpus()
    files = sorted(p.name for p in corpus.iterdir() if p.suffix in (".yaml", ".yml"))
    assert files == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name: str, tmp_path: Path) -> None:
    target = tmp_path / "prefect.yaml"
    shutil.copy(require_corpus() / name, target)
    result = validate_file(target)
    expected = EXPECTED[name]
    missing = [i for i in result.issues if _missing_entrypoint(i.path, i.message)]
    assert all(i.severity == "error" for i in missing)
    assert len(missing) == expected.missing_entrypoints
    actual = [
        (i.line, i.severity[0].upper(), i.path, i.message)
        for i in result.issues
        if not _missing_entrypoint(i.path, i.message)
    ]
    assert len(actual) == len(expected.issues), actual
    for got, want in zip(actual, expected.issues, strict=True):
        assert got[:3] == want[:3]
        assert got[3].startswith(want[3])
    assert (not result.errors) == expected.accepted
