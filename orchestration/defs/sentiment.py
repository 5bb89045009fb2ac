"""Email sentiment: the model trained on labelled text, and the batch that scores new
interactions, updates the trends and alerts on drops (hourly)."""

import dagster as dg

from orchestration.defs.ml import trained_model
from orchestration.resources import Database
from salesops.settings import Settings

GROUP = "ml"
MODEL_KEY = dg.AssetKey(["ml", "email_sentiment_model"])
SCORES_KEY = dg.AssetKey(["ml", "sentiment_analysis"])
INTERACTIONS_KEY = dg.AssetKey(["app", "interactions"])


class SentimentTrainingConfig(dg.Config):
    """Labelled text to train on: a CSV (or its folder) and its columns."""

    data: str = ""
    text_column: str = "text"
    label_column: str = "airline_sentiment"
    time_column: str = "tweet_created"


@dg.asset(key=MODEL_KEY, group_name=GROUP, kinds={"mlflow", "sklearn"},
          op_tags={"salesops/heavy": "train"},
          description="The email-sentiment model: n-grams + VADER into a logistic regression, "
                      "trained on labelled text, promoted to champion only when its holdout "
                      "macro F1 beats the current one.")
def email_sentiment_model(context: dg.AssetExecutionContext, config: SentimentTrainingConfig,
                          database: Database) -> dg.MaterializeResult:
    from ml import registry, tracking
    from ml.sentiment import MODEL_NAME, data, train

    if not config.data:  # nothing to learn from: the champion keeps serving, if there is one
        tracking.configure(database.url, Settings().artifacts_path)
        champion = registry.champion(MODEL_NAME)
        if champion is None:
            raise dg.Failure("No labelled text to train the sentiment model on: set this "
                             "asset's `data` config to a CSV of texts and labels.")
        return dg.MaterializeResult(metadata={"version": str(champion.version),
                                              "trained": False, "alias": registry.CHAMPION})
    mapping = data.Mapping(config.text_column, config.label_column, config.time_column or None)
    result = train(database.url, Settings().artifacts_path, config.data, mapping)
    return trained_model(context, result, trained=True)


@dg.asset(key=SCORES_KEY, group_name=GROUP, deps=[MODEL_KEY, INTERACTIONS_KEY],
          kinds={"postgres"},
          description="Label and score of every interaction with text (once per model "
                      "version); trends in the view ml.sentiment_trends; a significant drop "
                      "emits a sentiment.dropped event.")
def sentiment_analysis(database: Database) -> dg.MaterializeResult:
    from ml.sentiment import score

    result = score(database.url)
    return dg.MaterializeResult(metadata={"rows": result.rows, "alerts": result.alerts,
                                          "version": result.version})


score_sentiment = dg.define_asset_job(
    "score_sentiment", selection=dg.AssetSelection.assets(SCORES_KEY),
    description="Score interactions that have no sentiment yet, and alert on drops.")

sentiment_schedule = dg.ScheduleDefinition(
    job=score_sentiment, cron_schedule="0 * * * *",
    description="Hourly: new interactions scored, trends updated, drops alerted.")
