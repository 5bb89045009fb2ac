"""Next best action: for every open lead and deal, the allowed actions (call, email with a
named template, meeting, nurture campaign, offer, wait) ranked by how often similar records
progressed after each, learned from the logged actions and their outcomes (an S-learner of
uplift), under rules that forbid nonsense. Evaluated offline by replay against the most
frequent action.

Modules: history (actions, progress, weekly decision points), model (learner, rules,
ranking), evaluate (replay), train (MLflow, registry), score (ml.next_best_actions).
"""

from ml.next_best_action.model import MODEL_NAME

__all__ = ["MODEL_NAME"]
