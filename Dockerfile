# The image that runs every component of the compiled Vertex AI pipeline
# (`arith-tfx compile --target vertex --image IMAGE`): Python with this project and its pins.
#   docker build -t REGION-docker.pkg.dev/PROJECT/REPOSITORY/arith-tfx:TAG .
#   docker push REGION-docker.pkg.dev/PROJECT/REPOSITORY/arith-tfx:TAG
# The interpreter and C library that constraints.txt pins the stack for (Python 3.11, Debian 12's
# glibc 2.36); on Python 3.10 pip gives up resolving them (resolution too deep).
FROM python:3.11-slim-bookworm

# The project's folder in the image; pipeline/vertex.py IMAGE_PROJECT_DIR must say the same:
# compiled specs refer to files here (the curated schema, setup.py for Dataflow's --setup_file).
ARG PROJECT_DIR=/arith-tfx
WORKDIR ${PROJECT_DIR}

COPY setup.py constraints.txt ${PROJECT_DIR}/
COPY cluster/ ${PROJECT_DIR}/cluster/
COPY components/ ${PROJECT_DIR}/components/
COPY modules/ ${PROJECT_DIR}/modules/
COPY pipeline/ ${PROJECT_DIR}/pipeline/
COPY schema/ ${PROJECT_DIR}/schema/
RUN pip install --no-cache-dir --upgrade "pip>=23.2" \
    && pip install --no-cache-dir --ignore-requires-python -c constraints.txt ".[vertex]"
