"""Composition root for the schema: importing this registers every module's tables."""

from __future__ import annotations

from sqlmodel import SQLModel

import app.db  # noqa: F401  - sets the naming convention before tables are declared
from app import backup as _backup  # noqa: F401
from app import jobs as _jobs  # noqa: F401
from app import mail as _mail  # noqa: F401
from app import ratelimit as _ratelimit  # noqa: F401
from modules.accounts import models as _accounts  # noqa: F401
from modules.agencies import models as _agencies  # noqa: F401
from modules.audit import models as _audit  # noqa: F401
from modules.authoring import models as _authoring  # noqa: F401
from modules.certificates import models as _certificates  # noqa: F401
from modules.courses import models as _courses  # noqa: F401
from modules.plans import models as _plans  # noqa: F401
from modules.progress import models as _progress  # noqa: F401
from modules.quizzes import models as _quizzes  # noqa: F401
from modules.reports import models as _reports  # noqa: F401

metadata = SQLModel.metadata
