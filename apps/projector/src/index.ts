export { createProjector, type CreateProjectorOptions, type ProjectorApp } from './create-projector';
